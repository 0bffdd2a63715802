"""Global ids, primary keys, and rows looked up by SQL."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from core.ids import from_global_id, to_global_id

__all__ = ["from_global_id", "global_ids", "ids", "pk", "raw_global_id", "to_global_id"]


def pk(global_id: str) -> int:
    """The primary key a well-formed global id names."""
    decoded = from_global_id(global_id)
    assert decoded is not None, global_id
    return decoded[1]


def raw_global_id(raw: str) -> str:
    """Encodes any text the way global ids are encoded (to build malformed ones)."""
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def ids(connection: AsyncConnection, sql: str, **params: Any) -> list[Any]:
    """The first column of each row `sql` returns."""
    rows = (await connection.execute(text(sql), params)).all()
    return [row[0] for row in rows]


async def global_ids(
    connection: AsyncConnection, type_name: str, sql: str, **params: Any
) -> list[str]:
    """The global ids of `type_name` for the keys `sql` returns."""
    return [to_global_id(type_name, key) for key in await ids(connection, sql, **params)]
