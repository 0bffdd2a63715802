"""Idempotency keys: a retried create or update returns the first attempt's result.

A key is claimed with the same INSERT that finds a previous claim: a concurrent retry waits on the
first attempt's uncommitted row, then sees its outcome (its result if it committed, nothing if it
rolled back, in which case the retry claims the key and does the work). The claim commits or
rolls back with the mutation, so a failed attempt leaves no key behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, bindparam, delete, func, select, text, tuple_, update
from sqlalchemy.dialects import postgresql

from db import models
from db.queries import typed_param

if TYPE_CHECKING:
    from sqlalchemy import Delete, Insert, Select, Update

    from db.session import RequestDatabase

keys = models.table_of(models.IdempotencyKey)

LIFETIME = timedelta(hours=24)
_EXPIRED = func.now() - text("interval '24 hours'")
_CLAIMED = (
    keys.c.user_id == bindparam("user_id", type_=BigInteger),
    keys.c.key == typed_param("key", keys.c.key),
)
"""The claim of `:key` by `:user_id` (a key is the user's own: another user's same key is
another claim)."""


@dataclass(frozen=True, slots=True)
class Previous:
    """What an earlier attempt with the same key asked for and got."""

    operation: str
    request_hash: str
    result: dict[str, Any]


@cache
def _claim() -> Insert:
    """Claims the key unless a live claim holds it; an expired one is taken over."""
    statement = postgresql.insert(keys).values(
        user_id=bindparam("user_id", type_=BigInteger),
        key=typed_param("key", keys.c.key),
        operation=typed_param("operation", keys.c.operation),
        request_hash=typed_param("request_hash", keys.c.request_hash),
    )
    return statement.on_conflict_do_update(
        index_elements=[keys.c.user_id, keys.c.key],
        set_={
            "operation": statement.excluded.operation,
            "request_hash": statement.excluded.request_hash,
            "result": None,
            "created_at": func.now(),
        },
        where=keys.c.created_at <= _EXPIRED,
    ).returning(keys.c.key)


@cache
def _previous() -> Select[Any]:
    return select(keys.c.operation, keys.c.request_hash, keys.c.result).where(*_CLAIMED)


@cache
def _complete() -> Update:
    return update(keys).where(*_CLAIMED).values(result=typed_param("result", keys.c.result))


@cache
def _sweep() -> Delete:
    """Expired keys, a few at a time, skipping rows another transaction holds."""
    expired = (
        select(keys.c.user_id, keys.c.key)
        .where(keys.c.created_at < _EXPIRED)
        .limit(100)
        .with_for_update(skip_locked=True)
    ).subquery()
    return delete(keys).where(
        tuple_(keys.c.user_id, keys.c.key).in_(select(expired.c.user_id, expired.c.key))
    )


async def claim(
    db: RequestDatabase, user_id: int, key: str, operation: str, request_hash: str
) -> Previous | None:
    """None when the key is now ours (do the work); otherwise the earlier attempt."""
    params = {"user_id": user_id, "key": key, "operation": operation, "request_hash": request_hash}
    if await db.fetch_one(_claim(), params) is not None:
        return None
    row = await db.fetch_one(_previous(), {"user_id": user_id, "key": key})
    assert row is not None, "a live claim was found by the insert"
    return Previous(row.operation, row.request_hash, row.result or {})


async def complete(db: RequestDatabase, user_id: int, key: str, result: dict[str, Any]) -> None:
    """Store the result (committed with the work) and sweep some expired keys."""
    await db.fetch_all(_complete(), {"user_id": user_id, "key": key, "result": result})
    await db.fetch_all(_sweep(), {})
