"""The statements behind rate limits (built once; values are parameters). The rules (what a
request costs, whose budget it is, how much a process leases) are `server/rate_limit.py`'s."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Integer, Text, bindparam, delete, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY

from db import models

if TYPE_CHECKING:
    from sqlalchemy import Delete, TextClause

    from db.session import Database

rate_limit_windows = models.table_of(models.RateLimitWindow)


@cache
def charge_statement() -> TextClause:
    """Parameters `keys`, `needs`, `extras`, `limits` (arrays, one item per key) and
    `window_seconds`: the `rate_limit_charge` function of migration 0009."""
    return text(
        "SELECT key, spent, granted, reset_at, checked_at "
        "FROM rate_limit_charge(:keys, :needs, :extras, :limits, :window_seconds)"
    ).bindparams(
        bindparam("keys", type_=ARRAY(Text)),
        bindparam("needs", type_=ARRAY(BigInteger)),
        bindparam("extras", type_=ARRAY(BigInteger)),
        bindparam("limits", type_=ARRAY(BigInteger)),
        bindparam("window_seconds", type_=Integer),
    )


@cache
def stale_windows_delete() -> Delete:
    """Parameter `window_seconds`: forgets the callers that spent nothing in the last window."""
    table = rate_limit_windows
    stale_before = func.now() - func.make_interval(
        0, 0, 0, 0, 0, 0, bindparam("window_seconds", type_=Integer) * 2
    )
    # Rows a charge holds are skipped (and taken in key order, as charges take them): the
    # cleanup never waits for a request, nor deadlocks with one.
    stale = (
        select(table.c.key)
        .where(table.c.window_start < stale_before)
        .order_by(table.c.key)
        .with_for_update(skip_locked=True)
    )
    return delete(table).where(table.c.key.in_(stale.scalar_subquery()))


@dataclass(frozen=True, slots=True)
class Charged:
    """One key's row after a charge; `granted` is None when the charge was refused."""

    key: str
    spent: int
    granted: int | None
    reset_at: datetime
    checked_at: datetime


async def charge(
    database: Database,
    keys: Sequence[str],
    needs: Sequence[int],
    extras: Sequence[int],
    limits: Sequence[int],
    window_seconds: int,
) -> dict[str, Charged]:
    """Charges every key its need (and its extra where that fits too), or none of them."""
    params: dict[str, Any] = {
        "keys": list(keys),
        "needs": list(needs),
        "extras": list(extras),
        "limits": list(limits),
        "window_seconds": window_seconds,
    }
    rows = await database.run_alone(charge_statement(), params)
    return {
        row.key: Charged(row.key, row.spent, row.granted, row.reset_at, row.checked_at)
        for row in rows
    }


async def forget_stale_windows(database: Database, window_seconds: int) -> None:
    await database.run_alone(stale_windows_delete(), {"window_seconds": window_seconds})
