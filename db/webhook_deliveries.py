"""What sending a webhook delivery reads and writes (`server/webhook_delivery.py`): the webhook
as it is now, each attempt's record, its run of failures, and who to tell when it is disabled.

All of it runs in the transaction that holds the outbox message, so an attempt's record, the
webhook's failure state and the message's outcome commit together, or (the worker died) not at
all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Integer,
    Text,
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)

from core.enums import Role
from db.queries import memberships, users, workspaces
from db.webhooks import deliveries, webhooks

if TYPE_CHECKING:
    from sqlalchemy import Insert, Select, Update

    from db.session import RequestDatabase


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
    """One attempt's record (`WebhookDelivery`)."""

    webhook_id: int
    message_id: int
    event_type: str
    attempt: int
    succeeded: bool
    status_code: int | None = None
    latency_ms: int | None = None
    response_excerpt: str | None = None
    error: str | None = None
    next_retry_in_s: float | None = None


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
    ).where(webhooks.c.id == bindparam("webhook_id", type_=BigInteger))


async def delivery_target(db: RequestDatabase, webhook_id: int) -> DeliveryTarget | None:
    """The webhook, or None when it was deleted."""
    row = await db.fetch_one(_target(), {"webhook_id": webhook_id})
    if row is None:
        return None
    return DeliveryTarget(
        row.id, row.workspace_id, row.url, row.enabled, row.secret, row.previous_secret
    )


@cache
def _record() -> Insert:
    retry_in = bindparam("next_retry_in_s", type_=Float)
    return insert(deliveries).values(
        webhook_id=bindparam("webhook_id", type_=BigInteger),
        message_id=bindparam("message_id", type_=BigInteger),
        event_type=bindparam("event_type", type_=Text),
        attempt=bindparam("attempt", type_=Integer),
        attempted_at=func.clock_timestamp(),
        status_code=bindparam("status_code", type_=Integer),
        latency_ms=bindparam("latency_ms", type_=Integer),
        response_excerpt=bindparam("response_excerpt", type_=Text),
        error=bindparam("error", type_=Text),
        succeeded=bindparam("succeeded", type_=Boolean),
        next_retry_at=case(
            (retry_in.is_(None), None),
            else_=func.clock_timestamp() + func.make_interval(0, 0, 0, 0, 0, 0, retry_in),
        ),
    )


async def record_attempt(db: RequestDatabase, attempt: Attempt) -> None:
    await db.fetch_all(
        _record(),
        {
            "webhook_id": attempt.webhook_id,
            "message_id": attempt.message_id,
            "event_type": attempt.event_type,
            "attempt": attempt.attempt,
            "status_code": attempt.status_code,
            "latency_ms": attempt.latency_ms,
            "response_excerpt": attempt.response_excerpt,
            "error": attempt.error,
            "succeeded": attempt.succeeded,
            "next_retry_in_s": attempt.next_retry_in_s,
        },
    )


@cache
def _recovered() -> Update:
    # Only a webhook that was failing is written: a success otherwise locks no row.
    return (
        update(webhooks)
        .where(
            (webhooks.c.id == bindparam("webhook_id", type_=BigInteger))
            & webhooks.c.failing_since.is_not(None)
        )
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
        .where((webhooks.c.id == bindparam("webhook_id", type_=BigInteger)) & webhooks.c.enabled)
        .values(
            failing_since=func.coalesce(webhooks.c.failing_since, func.now()),
            enabled=case((failing_long, False), else_=True),
            disabled_reason=case(
                (failing_long, bindparam("reason", type_=Text)), else_=webhooks.c.disabled_reason
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
class Administrator:
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class WorkspaceAdministrators:
    workspace_name: str
    workspace_slug: str
    administrators: list[Administrator]


@cache
def _administrators() -> Select[Any]:
    return (
        select(workspaces.c.name, workspaces.c.slug, users.c.email, users.c.name.label("user_name"))
        .select_from(workspaces)
        .outerjoin(
            memberships,
            (memberships.c.workspace_id == workspaces.c.id)
            & memberships.c.role.in_([Role.OWNER, Role.ADMIN]),
        )
        .outerjoin(users, users.c.id == memberships.c.user_id)
        .where(workspaces.c.id == bindparam("workspace_id", type_=BigInteger))
        .order_by(users.c.id)
    )


async def workspace_administrators(
    db: RequestDatabase, workspace_id: int
) -> WorkspaceAdministrators | None:
    """The workspace's OWNER and ADMIN members; None when the workspace is gone."""
    rows = await db.fetch_all(_administrators(), {"workspace_id": workspace_id})
    if not rows:
        return None
    return WorkspaceAdministrators(
        rows[0].name,
        rows[0].slug,
        [Administrator(row.email, row.user_name) for row in rows if row.email is not None],
    )
