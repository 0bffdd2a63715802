"""Webhook mutations (ADMIN+, `auth.policies.can_manage_webhooks`), each run by
`resolvers.mutations.perform`, and the reads of a workspace's webhooks. What a mutation's changes
send to them is `resolvers.webhook_events`.

A webhook the viewer cannot see (another workspace's) is NOT_FOUND; one of their workspace that
their role may not manage is FORBIDDEN, as invitations are. The signing secret is returned by
`webhookCreate` and `webhookSecretRotate` only, once.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from auth import policies
from core.enums import WebhookEventType
from core.errors import ForbiddenError, NotFoundError, UserError, UserErrorCode, user_error
from core.ids import to_global_id
from core.text import unstorable_text
from db import outbox, writes
from db import webhooks as webhook_sql
from db.activity import Change
from resolvers.edits import given
from resolvers.guards import visible_workspace_id
from resolvers.inputs import target_pk
from resolvers.mutations import Done, Journal, Outcome, Returns, perform
from resolvers.webhook_events import ping_message

if TYPE_CHECKING:
    from collections.abc import Sequence

    from resolvers.context import Context, RequestSettings

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
MAX_URL = 2048
MAX_OVERLAP_HOURS = 168
# No idempotency keys: a secret is shown once, so a replay could not return it; creating twice
# makes two webhooks, which `webhookDelete` undoes.
NO_REPLAY = Returns()
_LOCAL_NAMES = ("localhost", ".localhost")
_FIELDS = {"event_types": "eventTypes"}
"""Input fields whose API name is not their Python name."""


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def url_errors(url: str, settings: RequestSettings) -> list[UserError]:
    """An absolute http(s) URL with a host, at most 2048 characters, without credentials. In
    production (unless BACKLOG_WEBHOOK_ALLOW_PRIVATE) also https, and not a host that is a
    local or private address by itself: the early, clear refusal. The sender checks the
    addresses a name resolves to again at every delivery (DNS may change)."""
    problem = _url_problem(url, strict=not settings.webhooks_may_reach_private)
    if problem is None:
        return []
    return [user_error(UserErrorCode.INVALID_INPUT, problem, "url")]


def _url_problem(url: str, *, strict: bool) -> str | None:
    if not url or len(url) > MAX_URL or unstorable_text(url) or any(c.isspace() for c in url):
        return f"A URL is 1 to {MAX_URL} characters, without spaces."
    try:
        parts = urlsplit(url)
        _ = parts.port  # parsed on access: a port that is not a number raises
    except ValueError:
        return "That is not a URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "A webhook URL is an absolute http:// or https:// URL with a host."
    if parts.username is not None or parts.password is not None:
        return "A webhook URL may not carry a user name or password."
    if not strict:
        return None
    if parts.scheme != "https":
        return "A webhook URL must use https://."
    host = parts.hostname
    if host == _LOCAL_NAMES[0] or host.endswith(_LOCAL_NAMES[1]):
        return "A webhook URL may not point at this machine."
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: checked where it is resolved, at send time
    if _is_internal(address):
        return "A webhook URL may not point at a loopback, private or reserved address."
    return None


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _is_internal(address.ipv4_mapped)
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def _event_types(event_types: Sequence[WebhookEventType]) -> tuple[list[str], list[UserError]]:
    """The stored values, each once, in the enum's order."""
    values = [event.value for event in WebhookEventType if event in event_types]
    if not values:
        return [], [
            user_error(UserErrorCode.INVALID_INPUT, "Name at least one event type.", "eventTypes")
        ]
    return values, []


def _require_manager(context: Context, workspace_id: int) -> None:
    if not policies.can_manage_webhooks(context.viewer, workspace_id):
        raise ForbiddenError("Your role in this workspace may not manage webhooks.")


async def _webhook(
    context: Context, global_id: str, *, lock: bool, for_delete: bool = False
) -> Any:
    """The webhook of `global_id` (locked until commit if `lock`); NOT_FOUND outside the
    viewer's scope, FORBIDDEN unless they may manage its workspace's webhooks."""
    params = {**context.loaders.scope_params, "target_id": target_pk(global_id, "Webhook")}
    statement = (
        writes.lock_in_scope(webhook_sql.webhooks, for_delete=for_delete)
        if lock
        else webhook_sql.visible_webhooks().where(webhook_sql.webhooks.c.id == writes.TARGET)
    )
    row = await context.db.fetch_one(statement, params)
    if row is None:
        raise NotFoundError("Webhook not found.")
    _require_manager(context, row.workspace_id)
    return row


async def webhook_create(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        workspace_id = visible_workspace_id(context, input.workspace_id)
        _require_manager(context, workspace_id)
        url = input.url.strip()
        event_types, errors = _event_types(input.event_types)
        errors = url_errors(url, context.settings) + errors
        if errors:
            return Done(Outcome(errors))
        secret = new_secret()
        row = await context.db.fetch_row(
            webhook_sql.insert_webhook(),
            {
                "workspace_id": workspace_id,
                "url": url,
                "event_types": event_types,
                "enabled": input.enabled,
                "secret": secret,
                "created_by": journal.actor_id,
            },
        )
        journal.record(Change(workspace_id, "Webhook", row.id, "CREATED"))
        return Done(Outcome(webhook=row, secret=secret))

    return await perform(context, "webhookCreate", input, NO_REPLAY, run)


async def webhook_update(context: Context, input: Any) -> Outcome:
    """Only the fields given change; enabling a webhook the sender disabled clears why."""

    async def run(journal: Journal) -> Done:
        current = await _webhook(context, input.id, lock=True)
        values = given(input, "url", "event_types", "enabled")
        errors = [
            user_error(UserErrorCode.INVALID_INPUT, "It cannot be null.", _FIELDS.get(name, name))
            for name, value in values.items()
            if value is None
        ]
        if errors:
            return Done(Outcome(errors))
        if "url" in values:
            values["url"] = values["url"].strip()
            errors += url_errors(values["url"], context.settings)
        if "event_types" in values:
            values["event_types"], type_errors = _event_types(values["event_types"])
            errors += type_errors
        if errors:
            return Done(Outcome(errors))
        if values.get("enabled"):
            values.update(disabled_reason=None, failing_since=None)
        changed = {name: value for name, value in values.items() if value != getattr(current, name)}
        if not changed:
            return Done(Outcome(webhook=current))
        row = await context.db.fetch_row(
            writes.update_columns(webhook_sql.webhooks, frozenset(changed)),
            {"target_id": current.id, **{f"new_{name}": value for name, value in changed.items()}},
        )
        for name in ("url", "event_types", "enabled"):
            if name in changed:
                journal.record(_updated(current, name, changed[name]))
        return Done(Outcome(webhook=row))

    return await perform(context, "webhookUpdate", input, NO_REPLAY, run)


def _updated(current: Any, name: str, value: Any) -> Change:
    """A field's change for the log, which every member reads: a URL's values stay out of it
    (they may hold the receiver's credentials)."""
    return Change(
        current.workspace_id,
        "Webhook",
        current.id,
        "UPDATED",
        field=_FIELDS.get(name, name),
        from_value=_logged(name, getattr(current, name)),
        to_value=_logged(name, value),
    )


def _logged(name: str, value: Any) -> str | None:
    if name == "event_types":
        return ",".join(WebhookEventType(event).name for event in value)
    if name == "enabled":
        return str(value).lower()
    return None


async def webhook_delete(context: Context, input: Any) -> Outcome:
    """Its unsent messages go with it, and its delivery attempts."""

    async def run(journal: Journal) -> Done:
        # Read, then drop its messages, then delete: a worker sending one of them holds that
        # message's row lock and then needs the webhook's row (to record the attempt), so the
        # webhook is locked only once no such send is under way.
        current = await _webhook(context, input.id, lock=False)
        db = context.db
        await db.fetch_all(webhook_sql.drop_unsent_messages(), {"target_id": current.id})
        await db.fetch_all(webhook_sql.delete_webhook(), {"target_id": current.id})
        journal.record(Change(current.workspace_id, "Webhook", current.id, "DELETED"))
        return Done(Outcome(deleted_webhook_id=to_global_id("Webhook", current.id)))

    return await perform(context, "webhookDelete", input, NO_REPLAY, run)


async def webhook_secret_rotate(context: Context, input: Any) -> Outcome:
    """A new secret, shown once; the old one keeps signing too for `overlapHours`."""

    async def run(journal: Journal) -> Done:
        current = await _webhook(context, input.id, lock=True)
        hours = input.overlap_hours
        if not 0 <= hours <= MAX_OVERLAP_HOURS:
            message = f"The overlap is 0 to {MAX_OVERLAP_HOURS} hours."
            return Done(Outcome([user_error(UserErrorCode.INVALID_INPUT, message, "overlapHours")]))
        secret = new_secret()
        row = await context.db.fetch_row(
            webhook_sql.rotate_secret(),
            {"target_id": current.id, "secret": secret, "overlap_hours": hours},
        )
        journal.record(
            Change(current.workspace_id, "Webhook", current.id, "UPDATED", field="secret")
        )
        return Done(Outcome(webhook=row, secret=secret))

    return await perform(context, "webhookSecretRotate", input, NO_REPLAY, run)


async def webhook_test(context: Context, input: Any) -> Outcome:
    """A `webhook.ping` message for this webhook, sent by the worker like any other (also to a
    disabled webhook: testing is how one finds out it works again)."""

    async def run(journal: Journal) -> Done:
        current = await _webhook(context, input.id, lock=False)
        workspace = await context.loaders.workspace_by_id.load(current.workspace_id)
        assert workspace is not None  # the webhook is in the viewer's scope, so is its workspace
        message = ping_message(current.id, workspace.id, workspace.slug)
        await outbox.enqueue(context.db, [message])
        return Done(Outcome(webhook=current))

    return await perform(context, "webhookTest", input, NO_REPLAY, run)


async def webhook_delivery_retry(context: Context, input: Any) -> Outcome:
    """The delivery's message is due again now (its `webhook-id` unchanged)."""

    async def run(journal: Journal) -> Done:
        db = context.db
        delivery = await db.fetch_one(
            webhook_sql.delivery_in_scope(),
            {**context.loaders.scope_params, "target_id": target_pk(input.id, "WebhookDelivery")},
        )
        if delivery is None:
            raise NotFoundError("Webhook delivery not found.")
        _require_manager(context, delivery.workspace_id)
        if not await outbox.redeliver(db, delivery.message_id):
            if await outbox.is_kept(db, delivery.message_id):
                busy = "The delivery is being sent right now; retry once it is done."
                return Done(Outcome([user_error(UserErrorCode.CONFLICT, busy, "id")]))
            message = "The delivery's message is no longer kept."
            return Done(Outcome([user_error(UserErrorCode.NOT_FOUND, message, "id")]))
        webhook = await context.loaders.webhook_by_id.load(delivery.webhook_id)
        return Done(Outcome(webhook=webhook))

    return await perform(context, "webhookDeliveryRetry", input, NO_REPLAY, run)
