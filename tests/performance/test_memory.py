"""A request leaves no cyclic garbage: reference counting frees what it made as soon as it ends.

What a request leaves in reference cycles waits for the cycle collector, whose thresholds are
tuned high for throughput (`server.app.tune_garbage_collector`); under steady load that garbage
piled up faster than it was collected and resident memory grew without a plateau. The requests
here are driven through the ASGI app directly, as uvicorn drives it, so that only the server's
objects are looked at (an httpx response and its stream refer to each other).
"""

from __future__ import annotations

import gc
import json
import weakref
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.routing import Route
from starlette.types import ASGIApp, Message

from bench.workloads import LIST_VIEW
from db.session import Database
from execution.graphql_internals import graphql_schema
from server.app import create_app
from server.settings import Settings
from tests.support.actors import OWNER, TEST_JWT_SECRET
from tests.support.factories import ISSUE_CREATE, project_id


async def _post(app: ASGIApp, body: dict[str, Any], *, errors: bool = False) -> dict[str, Any]:
    """POST `body` to /graphql through the ASGI interface; the JSON answer (HTTP 200), with
    `errors` or without."""
    raw = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"backlog.test"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("backlog.test", 80),
    }
    messages = [{"type": "http.request", "body": raw, "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 200, sent
    answer: dict[str, Any] = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert ("errors" in answer) is errors, answer
    return answer


@contextmanager
def _cyclic_garbage() -> Iterator[list[Any]]:
    """What becomes cyclic garbage inside the block: what the collector then finds unreachable
    (kept, with DEBUG_SAVEALL, instead of freed)."""
    found: list[Any] = []
    # Until nothing is left: a collection can free what only a weak map's callback let go (the
    # values kept for a schema collected the round before), for the next one to find.
    while gc.collect():
        pass
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def _kinds(objects: list[Any]) -> list[tuple[str, int]]:
    counts = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)
    return counts.most_common(15)


def _app(connection: AsyncConnection, database_url: str) -> ASGIApp:
    settings = Settings(
        database_url=database_url,
        BACKLOG_DEMO_VIEWER=OWNER,
        BACKLOG_JWT_SECRET=TEST_JWT_SECRET,
        BACKLOG_ENV="development",
    )
    return create_app(settings, database=Database.sharing(connection))


async def test_a_list_view_and_a_mutation_leave_no_cyclic_garbage(
    connection: AsyncConnection, seeded_database_url: str
) -> None:
    app = _app(connection, seeded_database_url)
    list_view = {"query": LIST_VIEW}
    create = {
        "query": ISSUE_CREATE,
        "variables": {"input": {"projectId": await project_id(connection), "title": "Leak?"}},
    }
    # Once first: what stays for the process (parsed and validated documents, statements built
    # per shape, SQLAlchemy's compiled cache, asyncpg's prepared statements) is made here.
    await _post(app, list_view)
    await _post(app, create)

    with _cyclic_garbage() as garbage:
        answer = await _post(app, list_view)
        created = await _post(app, create)
        del answer, created

    assert not garbage, f"{len(garbage)} objects in cycles, most: {_kinds(garbage)}"


async def test_a_field_error_leaves_no_cyclic_garbage(
    connection: AsyncConnection, seeded_database_url: str
) -> None:
    """A caught error keeps its traceback, and the traceback the frames it passed through."""
    app = _app(connection, seeded_database_url)
    bad_cursor = {"query": '{ workspace(slug: "acme") { issues(after: "x") { totalCount } } }'}
    await _post(app, bad_cursor, errors=True)

    with _cyclic_garbage() as garbage:
        answer = await _post(app, bad_cursor, errors=True)
        assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", answer
        del answer

    assert not garbage, f"{len(garbage)} objects in cycles, most: {_kinds(garbage)}"


async def test_a_dropped_app_leaves_its_schema_to_the_collector(
    connection: AsyncConnection, seeded_database_url: str
) -> None:
    """What is kept per document (plans, validation, costs, links) is kept per schema and goes
    with it. The plans refer to the schema's fields, whose resolvers refer back to the schema:
    kept in a weak map from schema to plans, every schema the tests built stayed alive, and
    the suite's full collections walked millions of objects."""
    app = _app(connection, seeded_database_url)
    for _ in range(2):
        await _post(app, {"query": LIST_VIEW})
    [endpoint] = [r.endpoint for r in app.routes if isinstance(r, Route) and r.path == "/graphql"]
    schema = weakref.ref(graphql_schema(endpoint.schema))
    del app, endpoint

    gc.collect()

    assert schema() is None
