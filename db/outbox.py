"""The outbox: messages to other systems, written in the transaction of the change that caused
them, and the statements the worker (`server/worker.py`) takes and settles them with.

A message is sent only after the transaction that wrote it commits (the worker cannot see it
before), and stays until a worker records it sent: a rolled-back change sends nothing, and a
committed one is never lost. A worker takes a due message with `FOR UPDATE SKIP LOCKED` and keeps
it locked, in an open transaction, while it sends it: another worker skips it meanwhile, and a
worker killed mid-send rolls back, which leaves the message due again (at-least-once delivery).

Each commit that wrote messages sends NOTIFY on `CHANNEL`, so an idle worker starts at once
instead of at its next poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Integer,
    String,
    Text,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from db import models

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Delete, Select, Update

    from db.session import RequestDatabase

outbox = models.table_of(models.OutboxMessage)

CHANNEL = "backlog_outbox"
"""The NOTIFY channel: a payload-less "there is something to send"."""


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to write: `kind` names its sender, `target_id` the kind's own reference."""

    kind: str
    payload: dict[str, Any]
    target_id: int | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """A message a worker took, locked by its transaction until it settles it."""

    id: int
    kind: str
    target_id: int | None
    payload: dict[str, Any]
    attempts: int
    """Attempts before this one."""
    created_at: datetime


def _notify() -> Any:
    """Wakes the idle workers once the transaction commits (one NOTIFY per transaction and
    channel, however many statements send it)."""
    return func.pg_notify(CHANNEL, "").label("notified")


@cache
def _enqueue() -> Select[Any]:
    rows = select(
        func.unnest(bindparam("kinds", type_=ARRAY(String))),
        func.unnest(bindparam("target_ids", type_=ARRAY(BigInteger))),
        func.unnest(bindparam("payloads", type_=ARRAY(Text))).cast(JSONB),
    )
    written = (
        insert(outbox)
        .from_select(["kind", "target_id", "payload"], rows)
        .returning(outbox.c.id)
        .cte("written")
    )
    return select(_notify(), func.count().label("written")).select_from(written)


async def enqueue(db: RequestDatabase, messages: Sequence[NewMessage]) -> None:
    """Write `messages` in the caller's transaction: they are sent once (and only if) it
    commits."""
    if not messages:
        return
    await db.fetch_all(
        _enqueue(),
        {
            "kinds": [message.kind for message in messages],
            "target_ids": [message.target_id for message in messages],
            "payloads": [orjson.dumps(message.payload).decode() for message in messages],
        },
    )


def _due() -> Any:
    return (
        outbox.c.sent_at.is_(None)
        & outbox.c.abandoned_at.is_(None)
        & (outbox.c.available_at <= func.clock_timestamp())
    )


def _columns() -> Select[Any]:
    return select(
        outbox.c.id,
        outbox.c.kind,
        outbox.c.target_id,
        outbox.c.payload,
        outbox.c.attempts,
        outbox.c.created_at,
    )


@cache
def _take() -> Select[Any]:
    return (
        _columns()
        .where(_due())
        .order_by(outbox.c.available_at, outbox.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


@cache
def _take_again() -> Select[Any]:
    return (
        _columns()
        .where(
            outbox.c.id == bindparam("message_id", type_=BigInteger),
            outbox.c.attempts == bindparam("attempts", type_=Integer),
            outbox.c.sent_at.is_(None),
            outbox.c.abandoned_at.is_(None),
        )
        .with_for_update(skip_locked=True)
    )


async def take(db: RequestDatabase) -> Message | None:
    """The oldest due message no other worker holds, locked until `db`'s transaction ends;
    None when there is none."""
    return _message(await db.fetch_one(_take()))


async def take_again(db: RequestDatabase, message: Message) -> Message | None:
    """`message` again, locked, as it was taken (no attempt since); None if another worker
    holds it, or took it and settled it meanwhile."""
    return _message(
        await db.fetch_one(_take_again(), {"message_id": message.id, "attempts": message.attempts})
    )


def _message(row: Any) -> Message | None:
    if row is None:
        return None
    return Message(row.id, row.kind, row.target_id, row.payload, row.attempts, row.created_at)


@cache
def _settle() -> Update:
    delay = bindparam("retry_in_s", type_=Float)
    return (
        update(outbox)
        .where(outbox.c.id == bindparam("message_id", type_=BigInteger))
        .values(
            attempts=outbox.c.attempts + 1,
            sent_at=case(
                (bindparam("sent", type_=Boolean), func.clock_timestamp()), else_=outbox.c.sent_at
            ),
            abandoned_at=case(
                (bindparam("abandoned", type_=Boolean), func.clock_timestamp()),
                else_=outbox.c.abandoned_at,
            ),
            available_at=func.clock_timestamp() + func.make_interval(0, 0, 0, 0, 0, 0, delay),
            last_error=bindparam("error", type_=Text),
        )
    )


async def mark_sent(db: RequestDatabase, message_id: int) -> None:
    await _run_settle(db, message_id, sent=True)


async def retry_later(db: RequestDatabase, message_id: int, error: str, delay_s: float) -> None:
    """Counts the attempt; the message is due again in `delay_s` seconds."""
    await _run_settle(db, message_id, error=error, delay_s=delay_s)


async def abandon(db: RequestDatabase, message_id: int, error: str) -> None:
    """Counts the attempt; no worker takes the message again unless `redeliver`ed."""
    await _run_settle(db, message_id, error=error, abandoned=True)


async def _run_settle(
    db: RequestDatabase,
    message_id: int,
    *,
    sent: bool = False,
    abandoned: bool = False,
    error: str | None = None,
    delay_s: float = 0.0,
) -> None:
    await db.fetch_all(
        _settle(),
        {
            "message_id": message_id,
            "sent": sent,
            "abandoned": abandoned,
            "error": error,
            "retry_in_s": delay_s,
        },
    )


@cache
def _redeliver() -> Select[Any]:
    free = (
        select(outbox.c.id)
        .where(outbox.c.id == bindparam("message_id", type_=BigInteger))
        .with_for_update(skip_locked=True)
    )
    again = (
        update(outbox)
        .where(outbox.c.id.in_(free.scalar_subquery()))
        .values(available_at=func.clock_timestamp(), sent_at=None, abandoned_at=None)
        .returning(outbox.c.id)
        .cte("again")
    )
    return select(again.c.id, _notify()).select_from(again)


async def redeliver(db: RequestDatabase, message_id: int) -> bool:
    """Make a message due now, sent or abandoned as it may be (its attempts are kept); False
    when it is gone, or a worker is sending it right now (this does not wait for the send)."""
    return bool(await db.fetch_all(_redeliver(), {"message_id": message_id}))


@cache
def _kept() -> Select[Any]:
    return select(outbox.c.id).where(outbox.c.id == bindparam("message_id", type_=BigInteger))


async def is_kept(db: RequestDatabase, message_id: int) -> bool:
    """Whether the message is still in the outbox (pruning deletes settled ones)."""
    return bool(await db.fetch_all(_kept(), {"message_id": message_id}))


@cache
def _prune() -> Delete:
    # make_interval takes integers: a bigint argument finds no such function.
    cutoff = func.now() - func.make_interval(0, 0, 0, bindparam("days", type_=Integer))
    return delete(outbox).where((outbox.c.sent_at < cutoff) | (outbox.c.abandoned_at < cutoff))


async def prune(db: RequestDatabase, days: int) -> None:
    """Forget messages settled more than `days` days ago (and with them, their attempts)."""
    await db.fetch_all(_prune(), {"days": days})
