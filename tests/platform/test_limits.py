"""Guard rails, each at its limit and one past it: depth, aliases, tokens, body size, timeouts.

A document past a limit is refused before it executes: the only SQL it costs is the viewer lookup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from graphql import GraphQLError
from sqlalchemy import text

from db.session import Database, StatementTimeoutError
from server.errors import client_error
from tests.support.graphql import without_cost
from tests.support.ids import to_global_id

DEPTH = 5
ALIASES = 4
TOKENS = 20
BODY_BYTES = 300


def issue_statements(statements) -> list[str]:
    return [sql for sql in statements.statements if "issues" in sql]


def assert_refused(response, statements, code: str, message: str) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == code
    assert message in error["message"]
    # Nothing ran but the viewer lookup that builds the request's context.
    assert statements.count == 1, statements.statements
    assert issue_statements(statements) == []


@dataclass(frozen=True)
class Limit:
    """A guard rail set low: `document(n)` is a document of `n` (depth, aliases or tokens)."""

    setting: str
    value: int
    document: Callable[[int], str]
    answered: Callable[[dict[str, Any]], Any]  # what the document at the limit answers...
    answer: Any  # ...which must be this
    code: str  # the error one past the limit, and what its message says
    message: str


@pytest.fixture
async def limited_client(make_client, limit: Limit) -> AsyncIterator:
    """A client of an app with the test's `limit` set."""
    async with make_client(**{limit.setting: limit.value}) as client:
        yield client


# Depth: the root field is depth 0, each nested selection set adds one; fragments add nothing.


def parent_chain(depth: int) -> str:
    """`workspace { issues { nodes { parent ... { id } } } }` whose `id` is at `depth`."""
    selection = "id"
    for _ in range(depth - 3):
        selection = f"parent {{ {selection} }}"
    return f'{{ workspace(slug: "acme") {{ issues(first: 2) {{ nodes {{ {selection} }} }} }} }}'


def node_chain(depth: int) -> str:
    """`node { ... on Issue { parent ... { id } } }` whose `id` is at `depth`."""
    selection = "id"
    for _ in range(depth - 1):
        selection = f"parent {{ {selection} }}"
    return f'{{ node(id: "{to_global_id("Issue", 1)}") {{ ... on Issue {{ {selection} }} }} }}'


DEPTH_LIMIT = Limit(
    "BACKLOG_MAX_QUERY_DEPTH",
    DEPTH,
    parent_chain,
    lambda data: len(data["workspace"]["issues"]["nodes"]),
    2,
    "GRAPHQL_VALIDATION_FAILED",
    f"exceeds maximum operation depth of {DEPTH}",
)


@pytest.mark.parametrize("limit", [DEPTH_LIMIT], ids=["depth"])
async def test_depth_at_the_limit_through_a_fragment_is_not_refused(limited_client):
    response = await limited_client.post("/graphql", json={"query": node_chain(DEPTH)})

    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["node"] is not None and "parent" in body["data"]["node"]


@pytest.mark.parametrize("limit", [DEPTH_LIMIT], ids=["depth"])
async def test_depth_counts_named_fragments(limited_client, statements):
    query = (
        '{ workspace(slug: "acme") { issues(first: 2) { nodes { ...Deep } } } }\n'
        "fragment Deep on Issue { parent { parent { parent { id } } } }"
    )

    response = await limited_client.post("/graphql", json={"query": query})

    assert_refused(response, statements, "GRAPHQL_VALIDATION_FAILED", "maximum operation depth")


async def test_default_depth_limit_is_12(client, statements):
    at_limit = await client.post("/graphql", json={"query": parent_chain(12)})
    assert "errors" not in at_limit.json()
    assert len(at_limit.json()["data"]["workspace"]["issues"]["nodes"]) == 2
    statements.statements.clear()

    past = await client.post("/graphql", json={"query": parent_chain(13)})

    assert_refused(past, statements, "GRAPHQL_VALIDATION_FAILED", "maximum operation depth of 12")


# Aliases: every aliased field counts, at any level.


def aliased(count: int) -> str:
    fields = " ".join(f"a{i}: totalCount" for i in range(count - 1))
    return f'{{ w: workspace(slug: "acme") {{ issues {{ {fields} }} }} }}'


ALIAS_LIMIT = Limit(
    "BACKLOG_MAX_ALIASES",
    ALIASES,
    aliased,
    lambda data: data["w"]["issues"],
    {f"a{i}": 150 for i in range(ALIASES - 1)},
    "GRAPHQL_VALIDATION_FAILED",
    f"{ALIASES + 1} aliases found. Allowed: {ALIASES}",
)


# Tokens: names and punctuators count (`{ viewer { id } }` is 6); whitespace, commas and
# variables' values do not.


def tokens(count: int) -> str:
    """`{ workspace(slug: "acme") { issues { totalCount ... } } }` of exactly `count` tokens."""
    fields = " ".join(["totalCount"] * (count - 13))  # 13 tokens besides the fields
    return f'{{ workspace(slug: "acme") {{ issues {{ {fields} }} }} }}'


TOKEN_LIMIT = Limit(
    "BACKLOG_MAX_TOKENS",
    TOKENS,
    tokens,
    lambda data: data["workspace"]["issues"]["totalCount"],
    150,
    "GRAPHQL_PARSE_FAILED",
    f"Document contains more than {TOKENS} tokens",
)


@pytest.mark.parametrize("limit", [TOKEN_LIMIT], ids=["tokens"])
async def test_token_limit_ignores_whitespace_commas_and_variable_values(limited_client):
    # Exactly 20 tokens: query ( $ s : String ! ) { workspace ( slug : $ s ) { id } }
    query = "query($s: String!) {\n\n ,,, workspace(slug: $s) ,,, { id }\n}" + " " * 500

    response = await limited_client.post(
        "/graphql", json={"query": query, "variables": {"s": "acme", "unused": "x " * 500}}
    )

    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["workspace"]["id"]


# Depth, aliases and tokens, each at its limit and one past it.


@pytest.mark.parametrize(
    "limit",
    [
        pytest.param(DEPTH_LIMIT, id="depth"),
        pytest.param(ALIAS_LIMIT, id="aliases"),
        pytest.param(TOKEN_LIMIT, id="tokens"),
    ],
)
async def test_a_document_at_the_limit_executes(limited_client, statements, limit):
    response = await limited_client.post("/graphql", json={"query": limit.document(limit.value)})

    body = response.json()
    assert "errors" not in body, body
    assert limit.answered(body["data"]) == limit.answer
    assert issue_statements(statements)


@pytest.mark.parametrize(
    ("limit", "document"),
    [
        pytest.param(DEPTH_LIMIT, parent_chain, id="depth"),
        pytest.param(DEPTH_LIMIT, node_chain, id="depth-through-a-fragment"),
        pytest.param(ALIAS_LIMIT, aliased, id="aliases"),
        pytest.param(TOKEN_LIMIT, tokens, id="tokens"),
    ],
)
async def test_a_document_one_past_the_limit_is_refused(
    limited_client, statements, limit, document
):
    response = await limited_client.post("/graphql", json={"query": document(limit.value + 1)})

    assert_refused(response, statements, limit.code, limit.message)


# Request body size.

QUERY = {"query": "{ viewer { email } }"}


def body_of(size: int) -> bytes:
    """A valid GraphQL request, padded with JSON whitespace to exactly `size` bytes."""
    compact = orjson.dumps(QUERY)
    assert len(compact) <= size
    return compact[:-1] + b" " * (size - len(compact)) + b"}"


@pytest.fixture
async def body_client(make_client) -> AsyncIterator:
    async with make_client(BACKLOG_MAX_BODY_BYTES=BODY_BYTES) as client:
        yield client


def assert_too_large(response, statements) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"] == {"code": "PAYLOAD_TOO_LARGE", "limit": BODY_BYTES}
    assert str(BODY_BYTES) in error["message"]
    # Refused before any database work, whether declared up front or counted while streaming.
    assert statements.count == 0, statements.statements
    assert issue_statements(statements) == []


async def test_body_of_exactly_the_limit_is_accepted(body_client):
    content = body_of(BODY_BYTES)
    assert len(content) == BODY_BYTES

    response = await body_client.post(
        "/graphql", content=content, headers={"content-type": "application/json"}
    )

    assert response.status_code == 200
    assert without_cost(response) == {"data": {"viewer": {"email": "demo@backlog.dev"}}}


async def test_body_one_byte_past_the_limit_is_413(body_client, statements):
    response = await body_client.post(
        "/graphql", content=body_of(BODY_BYTES + 1), headers={"content-type": "application/json"}
    )

    assert_too_large(response, statements)


async def test_body_padded_in_a_variable_past_the_limit_is_413(body_client, statements):
    response = await body_client.post(
        "/graphql",
        json={"query": QUERY["query"], "variables": {"padding": "x" * BODY_BYTES}},
    )

    assert_too_large(response, statements)


@pytest.mark.parametrize("content_length", ["abc", "-1", "1e9"])
async def test_invalid_content_length_is_refused(body_client, statements, content_length):
    response = await body_client.post(
        "/graphql",
        content=body_of(50),
        headers={"content-type": "application/json", "content-length": content_length},
    )

    assert_too_large(response, statements)


def chunks(content: bytes, size: int):
    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(content), size):
            yield content[start : start + size]

    return stream()


@pytest.mark.parametrize("size", [BODY_BYTES, BODY_BYTES + 1, BODY_BYTES * 10])
async def test_streamed_body_without_content_length_is_counted(body_client, statements, size):
    request = body_client.build_request(
        "POST",
        "/graphql",
        content=chunks(body_of(size), 64),
        headers={"content-type": "application/json"},
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"

    response = await body_client.send(request)

    if size <= BODY_BYTES:
        assert response.status_code == 200
        assert without_cost(response) == {"data": {"viewer": {"email": "demo@backlog.dev"}}}
    else:
        assert_too_large(response, statements)


async def test_get_requests_are_not_limited_by_body_size(body_client):
    query = "{ viewer { email } }" + " " * (BODY_BYTES * 2)

    response = await body_client.get("/graphql", params={"query": query})

    assert response.status_code == 200
    assert without_cost(response) == {"data": {"viewer": {"email": "demo@backlog.dev"}}}


# Statement timeout: tested on the database layer, since the test app shares one connection.


async def test_statement_past_the_timeout_raises_statement_timeout_error(connection):
    handle = Database.sharing(connection).request_handle()
    try:
        await handle.fetch_all(text("SET LOCAL statement_timeout = 50"))
        with pytest.raises(StatementTimeoutError, match="took too long"):
            await handle.fetch_all(text("SELECT pg_sleep(1)"))
    finally:
        await handle.close()

    # The request's savepoint is rolled back, with its SET LOCAL: the connection goes on.
    assert await connection.scalar(text("SELECT 1")) == 1
    assert await connection.scalar(text("SHOW statement_timeout")) == "5s"


async def test_statement_within_the_timeout_runs(connection):
    handle = Database.sharing(connection).request_handle()
    try:
        await handle.fetch_all(text("SET LOCAL statement_timeout = 1000"))
        assert await handle.scalar(text("SELECT 1 FROM pg_sleep(0.01)")) == 1
    finally:
        await handle.close()


async def test_other_database_errors_are_not_timeouts(connection):
    handle = Database.sharing(connection).request_handle()
    try:
        with pytest.raises(Exception) as raised:
            await handle.fetch_all(text("SELECT 1 / 0"))
        assert not isinstance(raised.value, StatementTimeoutError)
    finally:
        await handle.close()
    assert await connection.scalar(text("SELECT 2")) == 2


def test_timeout_is_reported_to_the_client_as_timeout():
    original = StatementTimeoutError("The database took too long to answer.")
    error = GraphQLError("raw", path=["workspace", "issues"], original_error=original)

    client = client_error(error).formatted

    assert client["message"] == "The database took too long to answer."
    assert client["extensions"] == {"code": "TIMEOUT"}
    assert client["path"] == ["workspace", "issues"]
