"""Production defaults: what an anonymous caller may learn of the schema, GraphiQL, CORS, the
headers of every response, and the HTTP limits a client cannot stretch.

The app's own behaviour runs in process (`make_client`); what the server process does (its
banner, a request's head too large or too slow, a body too slow, the client address it hands
the app) runs against a real `backlog serve`.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import text

from server.graphiql import DEFAULT_ASSETS_DIR
from server.settings import Settings
from tests.support.actors import MEMBER, TEST_JWT_SECRET
from tests.support.credentials import access_token
from tests.support.graphql import without_cost
from tests.support.processes import running_server

SCHEMA_TYPES = "{ __schema { types { name } } }"
ONE_TYPE = '{ __type(name: "Issue") { fields { name } } }'
MISSPELLED_FIELD = "{ viewr { email } }"
MISSPELLED_ENUM_VARIABLE = (
    'query ($p: Priority!) { workspace(slug: "acme") { issues(filter: {priority: {eq: $p}}) '
    "{ totalCount } } }"
)
LOG_IN = """mutation ($email: String!) {
  logIn(input: {email: $email, password: "wrong password"}) { errors { code } } }"""
APP_ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example"


async def post(client, query, *, token=None, variables=None, **headers) -> httpx.Response:
    """POST a document; `headers` by their names with `_` for `-` (`x_forwarded_for=`)."""
    headers = {name.replace("_", "-"): value for name, value in headers.items()}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


def error_messages(response: httpx.Response) -> list[str]:
    return [error["message"] for error in response.json().get("errors") or []]


# ---- Introspection and suggestions -----------------------------------------------------------


@pytest.mark.parametrize("query", [SCHEMA_TYPES, ONE_TYPE], ids=["__schema", "__type"])
async def test_anonymous_introspection_is_refused_in_production(make_client, statements, query):
    async with make_client(BACKLOG_ENV="production") as client:
        response = await post(client, query)

    body = response.json()
    assert body["data"] is None
    assert body["errors"]
    for error in body["errors"]:
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "introspection has been disabled" in error["message"]
    assert statements.count == 0


async def test_a_member_may_introspect_in_production(make_client, connection):
    token = await access_token(connection, MEMBER)
    async with make_client(BACKLOG_ENV="production") as client:
        response = await post(client, SCHEMA_TYPES, token=token)

    body = response.json()
    assert "errors" not in body
    assert len(body["data"]["__schema"]["types"]) > 100


async def test_anonymous_callers_may_ask_for_typename(make_client):
    async with make_client(BACKLOG_ENV="production") as client:
        response = await post(client, "{ __typename }")

    assert without_cost(response) == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("environment", "setting", "signed_in", "allowed"),
    [
        ("production", "off", True, False),
        ("production", "members", False, False),
        ("production", "members", True, True),
        ("production", "everyone", False, True),
        ("development", None, False, True),  # the demo viewer, and GraphiQL, see everything
        ("development", "off", False, False),
    ],
)
async def test_the_introspection_setting(
    make_client, connection, environment, setting, signed_in, allowed
):
    settings = {"BACKLOG_INTROSPECTION": setting} if setting else {}
    token = await access_token(connection, MEMBER) if signed_in else None
    async with make_client(BACKLOG_ENV=environment, **settings) as client:
        introspection = await post(client, SCHEMA_TYPES, token=token)
        misspelled = await post(client, MISSPELLED_FIELD, token=token)

    assert ("errors" not in introspection.json()) is allowed
    [message] = error_messages(misspelled)
    assert message.startswith("Cannot query field 'viewr' on type 'Query'.")
    assert ("Did you mean 'viewer'?" in message) is allowed


async def test_a_document_validated_for_a_member_is_not_served_to_anonymous(
    make_client, connection
):
    """The validation cache keys by the rules, which differ by who asks."""
    token = await access_token(connection, MEMBER)
    async with make_client(BACKLOG_ENV="production") as client:
        member_first = await post(client, SCHEMA_TYPES, token=token)
        anonymous = await post(client, SCHEMA_TYPES)
        misspelled_member = await post(client, MISSPELLED_FIELD, token=token)
        misspelled_anonymous = await post(client, MISSPELLED_FIELD)
        misspelled_member_again = await post(client, MISSPELLED_FIELD, token=token)

    assert "errors" not in member_first.json()
    assert "introspection has been disabled" in error_messages(anonymous)[0]
    assert "Did you mean" in error_messages(misspelled_member)[0]
    assert "Did you mean" not in error_messages(misspelled_anonymous)[0]
    assert error_messages(misspelled_member_again) == error_messages(misspelled_member)


async def test_no_suggestion_for_anonymous_in_a_variable_s_value(make_client, connection):
    token = await access_token(connection, MEMBER)
    async with make_client(BACKLOG_ENV="production") as client:
        anonymous = await post(client, MISSPELLED_ENUM_VARIABLE, variables={"p": "HIGHH"})
        member = await post(client, MISSPELLED_ENUM_VARIABLE, variables={"p": "HIGHH"}, token=token)

    [message] = error_messages(anonymous)
    assert "'HIGHH'" in message
    assert "Did you mean" not in message
    assert "Did you mean the enum value 'HIGH'?" in error_messages(member)[0]


# ---- GraphiQL --------------------------------------------------------------------------------


async def graphiql(client) -> httpx.Response:
    return await client.get("/graphql", headers={"accept": "text/html"})


async def test_graphiql_is_off_in_production_by_default(make_client):
    async with make_client(BACKLOG_ENV="production") as client:
        page = await graphiql(client)
        script = await client.get("/graphiql-assets/graphiql-init.js")
        query = await client.get("/graphql", params={"query": "{ __typename }"})

    assert page.status_code == 404
    assert script.status_code == 404
    assert without_cost(query) == {"data": {"__typename": "Query"}}  # GET still runs queries


async def test_graphiql_is_served_in_production_when_enabled(make_client):
    async with make_client(BACKLOG_ENV="production", BACKLOG_GRAPHIQL="true") as client:
        page = await graphiql(client)

    assert page.status_code == 200
    assert "Backlog GraphiQL" in page.text
    assert "unpkg" not in page.text + page.headers["content-security-policy"]


async def test_graphiql_can_be_turned_off_in_development(make_client):
    async with make_client(BACKLOG_GRAPHIQL="false") as client:
        assert (await graphiql(client)).status_code == 404


@pytest.fixture
def assets_without_vendor_files(tmp_path, monkeypatch) -> Path:
    """A GraphiQL assets directory whose npm packages did not install."""
    for name in ("graphiql-init.js", "graphiql-page.css"):
        shutil.copy(DEFAULT_ASSETS_DIR / name, tmp_path / name)
    monkeypatch.setenv("BACKLOG_GRAPHIQL_ASSETS_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.usefixtures("assets_without_vendor_files")
async def test_production_never_loads_graphiql_from_a_cdn(make_client):
    async with make_client(BACKLOG_ENV="production", BACKLOG_GRAPHIQL="true") as client:
        production = await graphiql(client)
    async with make_client(BACKLOG_ENV="development") as client:
        development = await graphiql(client)

    assert production.status_code == 404
    assert development.status_code == 200
    assert "https://unpkg.com" in development.headers["content-security-policy"]


# ---- CORS ------------------------------------------------------------------------------------


async def preflight(client, origin: str) -> httpx.Response:
    return await client.options(
        "/graphql",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )


async def test_cors_preflight_is_allowed_for_a_listed_origin(make_client):
    async with make_client(BACKLOG_ENV="production", BACKLOG_CORS_ORIGINS=APP_ORIGIN) as client:
        response = await preflight(client, APP_ORIGIN)

    assert response.status_code == 200
    headers = response.headers
    assert headers["access-control-allow-origin"] == APP_ORIGIN
    assert {"GET", "POST"} <= set(headers["access-control-allow-methods"].split(", "))
    allowed_headers = {h.lower() for h in headers["access-control-allow-headers"].split(", ")}
    assert {"authorization", "content-type"} <= allowed_headers
    assert "Origin" in headers["vary"]
    assert "access-control-allow-credentials" not in headers
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("listed", [APP_ORIGIN, None], ids=["another-listed", "none-listed"])
async def test_cors_preflight_is_refused_for_an_origin_not_listed(make_client, listed):
    settings = {"BACKLOG_CORS_ORIGINS": listed} if listed else {}
    async with make_client(BACKLOG_ENV="production", **settings) as client:
        response = await preflight(client, OTHER_ORIGIN if listed else APP_ORIGIN)

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_cors_headers_on_a_cross_origin_request(make_client):
    async with make_client(BACKLOG_ENV="production", BACKLOG_CORS_ORIGINS=APP_ORIGIN) as client:
        listed = await post(client, "{ __typename }", origin=APP_ORIGIN)
        other = await post(client, "{ __typename }", origin=OTHER_ORIGIN)
        same_origin = await post(client, "{ __typename }")

    assert listed.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "Retry-After" in listed.headers["access-control-expose-headers"]
    assert "access-control-allow-credentials" not in listed.headers
    assert "access-control-allow-origin" not in other.headers
    # A cache must not hand one origin's answer to another, nor to a same-origin request.
    for response in (listed, other, same_origin):
        assert [v.strip() for v in response.headers["vary"].split(",")].count("Origin") == 1


def test_a_cors_origin_must_be_an_origin():
    with pytest.raises(ValidationError, match="not an origin"):
        Settings(BACKLOG_CORS_ORIGINS="https://app.example.com/")


# ---- Response headers ------------------------------------------------------------------------


async def test_responses_are_nosniff_and_graphql_results_are_not_stored(make_client, connection):
    token = await access_token(connection, MEMBER)
    async with make_client(BACKLOG_ENV="production") as client:
        anonymous = await post(client, "{ __typename }")
        signed_in = await post(client, "{ viewer { email } }", token=token)
        refused = await post(client, "{ viewer { email } }", token="not-a-token")
        health = await client.get("/healthz")

    for response in (anonymous, signed_in, refused, health):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
    assert signed_in.json()["data"]["viewer"]["email"] == MEMBER


async def test_graphiql_assets_keep_their_own_caching(client):
    response = await client.get("/graphiql-assets/graphiql-init.js")

    assert response.status_code == 200
    assert "immutable" in response.headers["cache-control"]
    assert response.headers["x-content-type-options"] == "nosniff"


# ---- The client address of the sign-in throttle ----------------------------------------------


async def recorded_address(connection, email: str) -> str:
    return await connection.scalar(
        text("SELECT client_address FROM sign_in_failures WHERE email = :e"), {"e": email}
    )


@pytest.mark.parametrize(
    ("trusted", "recorded"),
    [(None, "127.0.0.1"), ("10.0.0.0/8", "127.0.0.1"), ("127.0.0.1", "203.0.113.9")],
    ids=["no-proxy-trusted", "another-proxy-trusted", "this-proxy-trusted"],
)
async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    make_client, connection, trusted, recorded
):
    """The in-process client connects from 127.0.0.1, as a local reverse proxy would."""
    settings = {"BACKLOG_TRUSTED_PROXIES": trusted} if trusted else {}
    email = f"throttle-{uuid.uuid4().hex[:8]}@example.com"
    async with make_client(BACKLOG_ENV="production", **settings) as client:
        response = await post(
            client, LOG_IN, variables={"email": email}, x_forwarded_for="203.0.113.9"
        )

    assert response.json()["data"]["logIn"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    assert await recorded_address(connection, email) == recorded


# ---- A real server process -------------------------------------------------------------------

HEAD_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.0
MAX_HEADER_BYTES = 8192


@pytest.fixture(scope="module")
def server(tmp_path_factory, seeded_database_url) -> Iterator[int]:
    """`backlog serve --workers 2` in production mode on the test database; yields its port."""
    tmp_path = tmp_path_factory.mktemp("production-server")
    with running_server(
        tmp_path,
        # Two workers: what they are handed (the protocol and its limits) crosses a process.
        "--workers",
        "2",
        DATABASE_URL=seeded_database_url,
        BACKLOG_JWT_SECRET=TEST_JWT_SECRET,
        BACKLOG_ENV="production",
        BACKLOG_HEADER_TIMEOUT_S=str(HEAD_TIMEOUT_S),
        BACKLOG_BODY_TIMEOUT_S=str(BODY_TIMEOUT_S),
        BACKLOG_MAX_HEADER_BYTES=str(MAX_HEADER_BYTES),
        # Its budgets would be committed, and shared by every anonymous test request;
        # tests/platform/test_rate_limits.py runs servers with rate limits.
        BACKLOG_RATE_LIMIT="0",
    ) as port:
        yield port


def exchange(port: int, request: bytes, *, wait_s: float = 5.0) -> tuple[bytes, float]:
    """Send `request` raw, then read until the server closes; returns what it answered and how
    long after sending the connection stayed open."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as connection:
        # Refused before it was all sent, the answer is still there to read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(request)
        sent = time.monotonic()
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
        return answer, time.monotonic() - sent


def test_the_server_sends_no_banner(server):
    response = httpx.get(f"http://127.0.0.1:{server}/healthz")

    assert response.status_code == 200
    assert "server" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_oversized_header_is_refused(server):
    big = b"x" * (MAX_HEADER_BYTES * 4)
    answer, _ = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + big + b"\r\n\r\n")

    assert answer.startswith(b"HTTP/1.1 431 ")


def test_a_header_just_under_the_limit_is_served(server):
    response = httpx.get(
        f"http://127.0.0.1:{server}/healthz", headers={"x-padding": "x" * (MAX_HEADER_BYTES // 2)}
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("request_head", "answered"),
    [(b"", b""), (b"GET /healthz HTTP/1.1\r\nHost: t\r\n", b"HTTP/1.1 408 ")],
    ids=["nothing-sent", "half-sent-headers"],
)
def test_a_slow_request_head_is_cut_off(server, request_head, answered):
    answer, held_s = exchange(server, request_head)

    assert answer.startswith(answered)
    assert held_s < HEAD_TIMEOUT_S + 1.5


def test_a_slow_request_body_is_cut_off(server):
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
    )
    answer, held_s = exchange(server, head + b'{"query":')

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"REQUEST_TIMEOUT" in answer
    assert held_s < BODY_TIMEOUT_S + 1.5


async def test_the_server_ignores_x_forwarded_for_by_default(server, engine):
    """uvicorn's own default would believe it from any local hop."""
    email = f"forwarded-{uuid.uuid4().hex[:8]}@example.com"
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server}") as client:
            response = await post(
                client, LOG_IN, variables={"email": email}, x_forwarded_for="203.0.113.9"
            )
        assert response.json()["data"]["logIn"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
        async with engine.connect() as connection:
            assert await recorded_address(connection, email) == "127.0.0.1"
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM sign_in_failures WHERE email = :e"), {"e": email}
            )
