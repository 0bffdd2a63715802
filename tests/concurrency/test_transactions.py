"""A request that only reads sees one snapshot; anything else gets a read-write transaction."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import text
from starlette.requests import Request

from db.session import Database
from server.preflight import reads_only


async def isolation_of(database: Database, *, snapshot: bool) -> tuple[str, str]:
    handle = database.request_handle(snapshot=snapshot)
    try:
        level = await handle.scalar(text("SHOW transaction_isolation"))
        read_only = await handle.scalar(text("SHOW transaction_read_only"))
    finally:
        await handle.close()
    return level, read_only


async def test_snapshot_handles_are_repeatable_read_and_read_only(engine):
    assert await isolation_of(Database(engine), snapshot=True) == ("repeatable read", "on")


async def test_other_handles_are_read_committed_and_may_write(engine):
    assert await isolation_of(Database(engine), snapshot=False) == ("read committed", "off")


def request(method: str = "POST", query_string: bytes = b"") -> Request:
    return Request({"type": "http", "method": method, "query_string": query_string, "headers": []})


def body(**payload: object) -> bytes:
    return orjson.dumps(payload)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (body(query="{ viewer { name } }"), True),
        (body(query="query Q { viewer { name } }", operationName="Q"), True),
        (body(query="mutation { x }"), False),
        (body(query="query A { viewer { id } } mutation B { x }", operationName="B"), False),
        (body(query="query A { viewer { id } } mutation B { x }"), False),  # ambiguous
        (body(query="{ viewer { name "), False),  # syntax error
        (body(query=5), False),
        (b"[1, 2]", False),
        (b"not json", False),
    ],
)
def test_only_query_operations_read_only(payload, expected):
    assert reads_only(request(), payload, max_tokens=2000) is expected


def test_get_requests_are_read_from_the_query_string():
    get = request("GET", b"query=%7B%20viewer%20%7B%20name%20%7D%20%7D")
    assert reads_only(get, b"", max_tokens=2000) is True
