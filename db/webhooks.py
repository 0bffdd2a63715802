"""Webhooks and their delivery attempts: the scoped reads of the API, the statements of the
webhook mutations, and those of the fan-out (`resolvers.webhook_events`), which finds
the webhooks a mutation's changes concern and reads the objects their envelopes carry.

The signing secrets are read by the statements that lock a webhook for a change and by the
sender only: no read of the API selects them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    String,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by

from core.enums import Role
from db import models
from db.outbox import outbox
from db.queries import (
    COMMENT_COLUMNS,
    ISSUE_COLUMNS,
    column_params,
    comments,
    in_scope,
    issue_labels,
    issues,
    labels,
    memberships,
    projects,
    readable_columns,
    typed_param,
    users,
    workflow_states,
    workspaces,
)
from db.writes import TARGET, id_array

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import ColumnElement, Delete, Insert, ScalarSelect, Select, Update
    from sqlalchemy.sql.dml import ReturningDelete, ReturningInsert

    from db.session import RequestDatabase

webhooks = models.table_of(models.Webhook)
deliveries = models.table_of(models.WebhookDelivery)

KIND = "webhook"
"""The outbox kind of a webhook delivery; the message's `target_id` is the webhook's id."""

_SECRETS = ("secret", "previous_secret")
WEBHOOK_COLUMNS = tuple(column for column in webhooks.c if column.key not in _SECRETS)
DELIVERY_COLUMNS = (*deliveries.c, webhooks.c.workspace_id)


# ---- the API's reads --------------------------------------------------------------------------


@cache
def visible_webhooks() -> Select[Any]:
    """Webhooks of the viewer's workspaces, without their secrets; which of them the viewer
    may see is `auth.policies.can_see_webhooks`."""
    return select(*WEBHOOK_COLUMNS).where(in_scope(webhooks.c.workspace_id))


@cache
def visible_deliveries() -> Select[Any]:
    """Delivery attempts to webhooks of the viewer's workspaces, each with its webhook's
    workspace (for the same policy)."""
    return (
        select(*DELIVERY_COLUMNS)
        .select_from(deliveries.join(webhooks, webhooks.c.id == deliveries.c.webhook_id))
        .where(in_scope(webhooks.c.workspace_id))
    )


# ---- the mutations ------------------------------------------------------------------------------


@cache
def insert_webhook() -> Insert:
    fields = ("workspace_id", "url", "event_types", "enabled", "secret", "created_by")
    return insert(webhooks).values(column_params(webhooks, *fields)).returning(*WEBHOOK_COLUMNS)


@cache
def rotate_secret() -> Update:
    """`secret` becomes `:secret`; the old one keeps signing for `:overlap_hours` (none: it is
    forgotten at once)."""
    hours = bindparam("overlap_hours", type_=Integer)
    overlap = hours > 0
    return (
        update(webhooks)
        .where(webhooks.c.id == TARGET)
        .values(
            secret=bindparam("secret", type_=webhooks.c.secret.type),
            previous_secret=case((overlap, webhooks.c.secret), else_=None),
            previous_secret_expires_at=case(
                (overlap, func.now() + func.make_interval(0, 0, 0, 0, hours)), else_=None
            ),
        )
        .returning(*WEBHOOK_COLUMNS)
    )


@cache
def delete_webhook() -> Delete:
    """Its delivery attempts go with it (their foreign key cascades)."""
    return delete(webhooks).where(webhooks.c.id == TARGET)


@cache
def drop_unsent_messages() -> ReturningDelete[Any]:
    """The messages of a webhook being deleted that were not sent: no worker may take them
    after the commit. One a worker is sending right now is skipped, not waited for (a receiver
    that hangs is when a webhook gets deleted): its worker settles it, or gives it up at its
    next attempt, once the webhook is gone."""
    unsent = (
        select(outbox.c.id)
        .where(
            outbox.c.kind == literal(KIND, String),
            outbox.c.target_id == TARGET,
            outbox.c.sent_at.is_(None),
        )
        .with_for_update(skip_locked=True)
    )
    return delete(outbox).where(outbox.c.id.in_(unsent.scalar_subquery())).returning(outbox.c.id)


@cache
def delivery_in_scope() -> Select[Any]:
    """The delivery `target_id` of a webhook of the viewer's workspaces."""
    return visible_deliveries().where(deliveries.c.id == TARGET)


# ---- the fan-out ------------------------------------------------------------------------------


def _name_of_user(user_id: ColumnElement[Any]) -> ScalarSelect[Any]:
    """The name of the user `user_id` (null for none): how an envelope shows the actor, an
    assignee, an author or a lead."""
    return select(users.c.name).where(users.c.id == user_id).scalar_subquery()


@cache
def subscribed_webhooks() -> Select[Any]:
    """The enabled webhooks of `:workspace_ids` subscribed to any of `:event_types`, with what
    every envelope of the mutation shares: the workspace's slug, the actor's name, the time of
    the change (its transaction's, as the activity log has it). Served by the index on
    `workspace_id`: a workspace has few webhooks."""
    return (
        select(
            webhooks.c.id,
            webhooks.c.workspace_id,
            webhooks.c.event_types,
            workspaces.c.slug.label("workspace_slug"),
            _name_of_user(bindparam("actor_id", type_=BigInteger)).label("actor_name"),
            func.now().label("changed_at"),
        )
        .select_from(webhooks.join(workspaces, workspaces.c.id == webhooks.c.workspace_id))
        .where(
            webhooks.c.workspace_id == any_(id_array("workspace_ids")),
            webhooks.c.enabled,
            webhooks.c.event_types.overlap(
                bindparam("event_types", type_=webhooks.c.event_types.type)
            ),
        )
        .order_by(webhooks.c.id)
    )


_WANTED = id_array("ids")


@cache
def issue_objects() -> Select[Any]:
    """The issues `:ids` with what their envelopes show of their project, state, assignee,
    parent and labels: one statement for all of them."""
    state = workflow_states.alias("state")
    parent, parent_project = issues.alias("parent"), projects.alias("parent_project")
    label_order = (labels.c.position, labels.c.id)
    attached = (
        select(
            func.array_agg(aggregate_order_by(labels.c.id, *label_order)).label("label_ids"),
            func.array_agg(aggregate_order_by(labels.c.name, *label_order)).label("label_names"),
        )
        .select_from(labels.join(issue_labels, issue_labels.c.label_id == labels.c.id))
        .where(issue_labels.c.issue_id == issues.c.id)
        .lateral("attached")
    )
    return (
        select(
            *ISSUE_COLUMNS,
            projects.c.name.label("project_name"),
            state.c.name.label("state_name"),
            state.c.type.label("state_type"),
            _name_of_user(issues.c.assignee_id).label("assignee_name"),
            parent.c.number.label("parent_number"),
            parent_project.c.key.label("parent_project_key"),
            *attached.c,
        )
        .select_from(
            issues.join(projects, projects.c.id == issues.c.project_id)
            .join(state, state.c.id == issues.c.state_id)
            .outerjoin(parent, parent.c.id == issues.c.parent_id)
            .outerjoin(parent_project, parent_project.c.id == parent.c.project_id)
            .join(attached, literal(True))
        )
        .where(issues.c.id == any_(_WANTED))
    )


@cache
def comment_objects() -> Select[Any]:
    """The comments `:ids` with their issue's identifier and their author's name."""
    with_issue = comments.join(issues, issues.c.id == comments.c.issue_id)
    return (
        select(
            *COMMENT_COLUMNS,
            issues.c.number.label("issue_number"),
            projects.c.key.label("project_key"),
            _name_of_user(comments.c.author_id).label("author_name"),
        )
        .select_from(with_issue.join(projects, projects.c.id == issues.c.project_id))
        .where(comments.c.id == any_(_WANTED))
    )


@cache
def project_objects() -> Select[Any]:
    """The projects `:ids` with their lead's name."""
    lead_name = _name_of_user(projects.c.lead_id).label("lead_name")
    return select(*readable_columns(projects), lead_name).where(projects.c.id == any_(_WANTED))


@cache
def label_objects() -> Select[Any]:
    return select(*readable_columns(labels)).where(labels.c.id == any_(_WANTED))


# ---- sending a delivery (`server/webhooks.py`) ------------------------------------------------
# The webhook as it is now, each attempt's record, its run of failures, and who to tell when it
# is disabled. All of it runs in the transaction that holds the outbox message, so an attempt's
# record, the webhook's failure state and the message's outcome commit together, or (the worker
# died) not at all.


@dataclass(frozen=True, slots=True)
class DeliveryTarget:
    """A webhook as one delivery needs it."""

    id: int
    workspace_id: int
    url: str
    enabled: bool
    secret: str
    previous_secret: str | None
    """Set only while it still signs (its overlap has not expired)."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt's record (`WebhookDelivery`); its fields are the parameters of `_record`."""

    webhook_id: int
    message_id: int
    event_type: str
    """The envelope's `type` (`issue.created`, `webhook.ping`...)."""
    attempt: int
    """1 for the message's first attempt, one more for each retry."""
    succeeded: bool
    """The receiver answered with a 2xx status."""
    status_code: int | None = None
    """None when no answer came (the address was refused, the connection failed or timed out)."""
    latency_ms: int | None = None
    """From the start of the send to the answer or the failure; None when refused before it."""
    response_excerpt: str | None = None
    """The start of the answer's body, as much as the sender keeps."""
    error: str | None = None
    """Why the attempt failed (`HTTP 500`, a refusal, a network error); None on success."""
    next_retry_in_s: float | None = None
    """When the message is tried again, in seconds from the record; None when it is not (it
    succeeded, the retries ran out or the webhook was disabled)."""


_WEBHOOK = typed_param("webhook_id", webhooks.c.id)


@cache
def _target() -> Select[Any]:
    still_signs = webhooks.c.previous_secret_expires_at > func.now()
    return select(
        webhooks.c.id,
        webhooks.c.workspace_id,
        webhooks.c.url,
        webhooks.c.enabled,
        webhooks.c.secret,
        case((still_signs, webhooks.c.previous_secret), else_=None).label("previous_secret"),
    ).where(webhooks.c.id == _WEBHOOK)


async def delivery_target(db: RequestDatabase, webhook_id: int) -> DeliveryTarget | None:
    """The webhook, or None when it was deleted."""
    row = await db.fetch_one(_target(), {"webhook_id": webhook_id})
    if row is None:
        return None
    return DeliveryTarget(
        row.id, row.workspace_id, row.url, row.enabled, row.secret, row.previous_secret
    )


@cache
def _record() -> ReturningInsert[Any]:
    retry_in = bindparam("next_retry_in_s", type_=Float)
    values = {
        "webhook_id": webhooks.c.id,
        "attempted_at": func.clock_timestamp(),
        "next_retry_at": case(
            (retry_in.is_(None), None),
            else_=func.clock_timestamp() + func.make_interval(0, 0, 0, 0, 0, 0, retry_in),
        ),
        # The rest as the attempt has them, in the columns of the same names.
        **column_params(
            deliveries,
            "message_id",
            "event_type",
            "attempt",
            "status_code",
            "latency_ms",
            "response_excerpt",
            "error",
            "succeeded",
        ),
    }
    # Only while the webhook exists: one deleted during the send has no record to keep.
    of_webhook = select(*values.values()).where(webhooks.c.id == _WEBHOOK)
    return insert(deliveries).from_select(list(values), of_webhook).returning(deliveries.c.id)


async def record_attempt(db: RequestDatabase, attempt: Attempt) -> bool:
    """Records the attempt; False when the webhook is gone (deleted during the send)."""
    return bool(await db.fetch_all(_record(), asdict(attempt)))


@cache
def _recovered() -> Update:
    # Only a webhook that was failing is written: a success otherwise locks no row.
    return (
        update(webhooks)
        .where((webhooks.c.id == _WEBHOOK) & webhooks.c.failing_since.is_not(None))
        .values(failing_since=None)
    )


async def note_success(db: RequestDatabase, webhook_id: int) -> None:
    """Ends the webhook's run of failures."""
    await db.fetch_all(_recovered(), {"webhook_id": webhook_id})


@cache
def _failed() -> Update:
    # now(): the transaction's start, when the worker took the message; the attempt's time.
    failing_long = webhooks.c.failing_since <= func.now() - func.make_interval(
        0, 0, 0, bindparam("days", type_=Integer)
    )
    return (
        update(webhooks)
        .where((webhooks.c.id == _WEBHOOK) & webhooks.c.enabled)
        .values(
            failing_since=func.coalesce(webhooks.c.failing_since, func.now()),
            enabled=case((failing_long, False), else_=True),
            disabled_reason=case(
                (failing_long, typed_param("reason", webhooks.c.disabled_reason)),
                else_=webhooks.c.disabled_reason,
            ),
        )
        .returning(webhooks.c.enabled)
    )


async def note_failure(
    db: RequestDatabase, webhook_id: int, disable_after_days: int, reason: str
) -> bool:
    """Starts or continues the webhook's run of failures, and disables it (with `reason`) once
    the run has lasted `disable_after_days`; whether this disabled it."""
    rows = await db.fetch_all(
        _failed(), {"webhook_id": webhook_id, "days": disable_after_days, "reason": reason}
    )
    return bool(rows) and not rows[0].enabled


@dataclass(frozen=True, slots=True)
class WorkspaceAdministrators:
    """A workspace and the members who are told when one of its webhooks is disabled."""

    workspace_name: str
    workspace_slug: str
    """For the link to its webhook settings."""
    administrators: list[Administrator]
    """By user id; empty when no member holds those roles."""


@dataclass(frozen=True, slots=True)
class Administrator:
    """A member to tell, by email, that a webhook of their workspace was disabled."""

    email: str
    name: str


@cache
def _administrators() -> Select[Any]:
    return (
        select(workspaces.c.name, workspaces.c.slug, users.c.email, users.c.name.label("user_name"))
        .select_from(workspaces)
        .outerjoin(
            memberships,
            (memberships.c.workspace_id == workspaces.c.id)
            & (memberships.c.role.cast(String) == any_(bindparam("roles", type_=ARRAY(String)))),
        )
        .outerjoin(users, users.c.id == memberships.c.user_id)
        .where(workspaces.c.id == bindparam("workspace_id", type_=BigInteger))
        .order_by(users.c.id)
    )


async def workspace_administrators(
    db: RequestDatabase, workspace_id: int, roles: Iterable[Role]
) -> WorkspaceAdministrators | None:
    """The workspace's members of `roles` (who manages its webhooks: a policy's); None when
    the workspace is gone."""
    rows = await db.fetch_all(
        _administrators(),
        {"workspace_id": workspace_id, "roles": sorted(role.value for role in roles)},
    )
    if not rows:
        return None
    return WorkspaceAdministrators(
        rows[0].name,
        rows[0].slug,
        [Administrator(row.email, row.user_name) for row in rows if row.email is not None],
    )
