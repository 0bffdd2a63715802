"""Webhooks: the `Webhook` and `WebhookDelivery` types, `workspace.webhooks`, the mutations'
inputs and payloads, and `WebhookMutations`. Only those who may manage a workspace's webhooks
(ADMIN+) see them; a webhook's secret is in no type, only in the payload that made it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Unpack

import strawberry

from auth import policies
from core import enums
from resolvers import webhooks as use_cases
from resolvers.context import Context
from schema import orderings, refs
from schema.enums import WebhookEventType
from schema.inputs import changed_if_given, id_input
from schema.mutation_field import mutation
from schema.node import PolicedNode
from schema.pagination import Connection
from schema.payloads import delete_types, node_field, object_payload, payload_type, scalar_field
from schema.relation_field import PageArguments, relation
from schema.relations import connections_of, nodes_at, paged_lists, workspace_relation


class _ManagersOnly(PolicedNode):
    """A type only those who may manage a workspace's webhooks read (the rest get null)."""

    read_policy = policies.can_see_webhooks


_deliveries = paged_lists(
    "deliveries_of_webhook", "deliveries", orderings.WEBHOOK_DELIVERIES, refs.WebhookDelivery
)


@strawberry.type(
    description="A workspace's subscription of a URL to events: each event is POSTed to it, "
    "signed with the webhook's secret (Standard Webhooks)."
)
class Webhook(_ManagersOnly):
    workspace_id: strawberry.Private[int]
    url: str = strawberry.field(description="Where the events are POSTed.")
    event_types: list[WebhookEventType] = strawberry.field(
        description="The events it is sent, in the enum's order."
    )
    enabled: bool = strawberry.field(
        description="Whether events are sent to it; the sender turns it off after days of "
        "failures (see `disabledReason`)."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    failing_since: datetime | None = strawberry.field(
        description="When the current run of failed deliveries began; null while they succeed."
    )
    disabled_reason: str | None = strawberry.field(
        description="Why the sender disabled it; cleared by enabling it again."
    )
    secret_rotated_until: datetime | None = strawberry.field(
        description="After `webhookSecretRotate`: until when the previous secret signs too; "
        "null when only the current one signs."
    )

    @classmethod
    def from_row(cls, row: Any) -> Webhook:
        until = row.previous_secret_expires_at
        return super().from_row(
            row,
            event_types=[enums.WebhookEventType(value) for value in row.event_types],
            secret_rotated_until=until if until is not None and until > datetime.now(UTC) else None,
        )

    deliveries = relation(
        _deliveries,
        Connection[refs.WebhookDelivery],
        description="Its delivery attempts, newest first.",
    )

    workspace = workspace_relation()


_webhooks = nodes_at(refs.Webhook, "webhook_id", missing="Webhook not found.")


@strawberry.type(description="One attempt to deliver one event to a webhook.")
class WebhookDelivery(_ManagersOnly):
    workspace_id: strawberry.Private[int]
    webhook_id: strawberry.Private[int]
    message_id: str = strawberry.field(
        description="The `webhook-id` header: the same for every attempt of one event, for the "
        "receiver to recognize a repeat (`msg_` and a number)."
    )
    event_type: str = strawberry.field(
        description="The envelope's `type`: `issue.updated`, `webhook.ping`..."
    )
    attempt: int = strawberry.field(description="1 for the first attempt of the event.")
    attempted_at: datetime = strawberry.field(description="When it was made.")
    status_code: int | None = strawberry.field(
        description="The receiver's HTTP status; null if no response came."
    )
    latency_ms: int | None = strawberry.field(description="How long the request took.")
    response_excerpt: str | None = strawberry.field(
        description="The beginning of the receiver's response body."
    )
    error: str | None = strawberry.field(
        description="What went wrong (a timeout, a refused address, a non-2xx status)."
    )
    succeeded: bool = strawberry.field(description="Whether the receiver accepted it (2xx).")
    next_retry_at: datetime | None = strawberry.field(
        description="When the event is tried again; null after a success or the last try."
    )

    @classmethod
    def from_row(cls, row: Any) -> WebhookDelivery:
        return super().from_row(row, message_id=f"msg_{row.message_id}")

    webhook = relation(_webhooks, refs.Webhook, description="The webhook it was sent to.")


async def webhooks_of_workspaces(
    parents: list[Any], context: Context, **page: Unpack[PageArguments]
) -> list[Connection[Webhook] | None]:
    """The batch of `workspace.webhooks`: null where the viewer may not manage webhooks."""
    readable = [p.pk for p in parents if policies.can_see_webhooks(context.viewer, p.pk)]
    pages = await connections_of(
        readable,
        context.loaders.webhooks_of_workspace,
        "webhooks",
        orderings.WEBHOOKS,
        Webhook.from_row,
        **page,
    )
    found = dict(zip(readable, pages, strict=True))
    return [found.get(parent.pk) for parent in parents]


@strawberry.input(description="A new webhook of a workspace.")
class WebhookCreateInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace whose events.")
    url: str = strawberry.field(
        description="An absolute https:// URL, at most 2048 characters, without a user name or "
        "password, not at a loopback, private or link-local address (in development, or with "
        "BACKLOG_WEBHOOK_ALLOW_PRIVATE, http:// and any address too)."
    )
    event_types: list[WebhookEventType] = strawberry.field(
        description="The events to send it: at least one."
    )
    enabled: bool = strawberry.field(default=True, description="Send events from now on.")


@strawberry.input(description="Changes to a webhook: only the fields given are changed.")
class WebhookUpdateInput:
    id: strawberry.ID = strawberry.field(description="The webhook to change.")
    url: str | None = changed_if_given("As in `webhookCreate`; cannot be null.")
    event_types: list[WebhookEventType] | None = changed_if_given(
        "The events to send it from now on (at least one); cannot be null."
    )
    enabled: bool | None = changed_if_given(
        "Turn it off or on; on clears `disabledReason` and `failingSince`. Cannot be null."
    )


@strawberry.input(description="The webhook whose signing secret to replace.")
class WebhookSecretRotateInput:
    id: strawberry.ID = strawberry.field(description="The webhook.")
    overlap_hours: int = strawberry.field(
        default=24,
        description="0 to 168: how long the old secret keeps signing too, for the receiver to "
        "switch without rejecting a delivery.",
    )


WebhookTestInput = id_input(
    "WebhookTestInput", "The webhook to send a `webhook.ping` event to.", "The webhook."
)
WebhookDeliveryRetryInput = id_input(
    "WebhookDeliveryRetryInput",
    "The delivery whose event to send again.",
    "One of a webhook's `deliveries`.",
)


WebhookSecretPayload = payload_type(
    "WebhookSecretPayload",
    "The webhook with its new signing secret, or why it was not made or changed.",
    webhook=node_field(Webhook, "The webhook as it is now; null when `errors` is not empty."),
    secret=scalar_field(
        str,
        "The signing secret (`whsec_` and base64): give it to the receiver to verify the "
        "`webhook-signature` header. Shown only here, once.",
    ),
)
WebhookPayload = object_payload(Webhook, "webhook")
WebhookDeleteInput, WebhookDeletePayload = delete_types(
    "webhook", "The webhook to delete; its unsent events are dropped."
)


@strawberry.type
class WebhookMutations:
    """Webhook mutations: part of the root `Mutation`. Who may make them is
    `auth.policies.can_manage_webhooks`'s answer (ADMIN and up)."""

    webhook_create = mutation(
        use_cases.webhook_create,
        WebhookCreateInput,
        WebhookSecretPayload,
        description="Create a webhook (ADMIN+); the payload's secret is shown once.",
    )

    webhook_update = mutation(
        use_cases.webhook_update,
        WebhookUpdateInput,
        WebhookPayload,
        description="Change a webhook's URL, events or enabled flag (ADMIN+).",
    )

    webhook_delete = mutation(
        use_cases.webhook_delete,
        WebhookDeleteInput,
        WebhookDeletePayload,
        description="Delete a webhook (ADMIN+); its events not yet sent are dropped.",
    )

    webhook_secret_rotate = mutation(
        use_cases.webhook_secret_rotate,
        WebhookSecretRotateInput,
        WebhookSecretPayload,
        description="Replace a webhook's signing secret (ADMIN+); the new one is shown once, "
        "and the old one keeps signing too for `overlapHours`.",
    )

    webhook_test = mutation(
        use_cases.webhook_test,
        WebhookTestInput,
        WebhookPayload,
        description="Send a webhook a `webhook.ping` event (ADMIN+), delivered like any other.",
    )

    webhook_delivery_retry = mutation(
        use_cases.webhook_delivery_retry,
        WebhookDeliveryRetryInput,
        WebhookPayload,
        description="Send a delivery's event again now, with the same `webhook-id` (ADMIN+).",
    )
