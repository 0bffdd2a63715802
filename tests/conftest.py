"""Test harness: one real PostgreSQL per run, each test inside a transaction that is rolled back.

The server is the embedded PostgreSQL in a throwaway folder, or TEST_DATABASE_URL's. A fresh
database is created on it, migrated and loaded with the demo data once (committed, so a real
server process can read it too); every test then runs in an outer transaction, and each request
the app handles runs in a SAVEPOINT of it (`Database.sharing`), so nothing a test writes survives.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.ids import to_global_id
from db.migrate import upgrade_to_head
from db.seed import SCALES, seed
from db.session import Database, StatementCounter, create_engine
from server.app import create_app
from server.settings import Settings

GraphQL = Callable[..., Awaitable[dict[str, Any]]]

OWNER = "demo@backlog.dev"
ADMIN = "ada@backlog.dev"
MEMBER = "max@backlog.dev"
GUEST = "gus@backlog.dev"
STRANGER = "olga@globex.dev"  # owner of the other workspace, stranger to acme
NOBODY = "nobody@nowhere.dev"  # no such user: an anonymous request


TEST_JWT_SECRET = "test-secret-for-access-tokens-32-bytes-or-more"


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    from db.embedded import database_url, start_embedded_postgres

    with tempfile.TemporaryDirectory(prefix="backlog-test-") as folder:
        server = start_embedded_postgres(Path(folder) / "pgdata")
        try:
            yield database_url(server)
        finally:
            server.cleanup()


@pytest.fixture(scope="session")
async def seeded_database_url(server_url: str) -> AsyncIterator[str]:
    """A new database on the test server, migrated and holding the demo data (committed)."""
    name = f"backlog_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url)
    async with admin.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = _with_database(server_url, name)
    engine = create_engine(url, statement_timeout_ms=0)
    await upgrade_to_head(engine)
    await seed(engine, SCALES["demo"], progress=False)
    await engine.dispose()
    try:
        yield url
    finally:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture(scope="session")
async def engine(seeded_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(seeded_database_url, statement_timeout_ms=2000)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The test's connection, inside a transaction rolled back at the end."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        # SQLAlchemy begins lazily; begin now, so request handles nest savepoints inside it.
        await connection.exec_driver_sql("SELECT 1")
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
def statements(connection: AsyncConnection) -> Iterator[StatementCounter]:
    """Counts the SQL statements the app sends during a test."""
    counter = StatementCounter()
    counter.attach(connection.sync_connection)
    yield counter
    counter.detach(connection.sync_connection)


@pytest.fixture
def make_client(
    connection: AsyncConnection, seeded_database_url: str
) -> Callable[..., httpx.AsyncClient]:
    def make(viewer: str = OWNER, **settings: Any) -> httpx.AsyncClient:
        settings.setdefault("BACKLOG_JWT_SECRET", TEST_JWT_SECRET)
        settings.setdefault("BACKLOG_ENV", "development")
        config = Settings(database_url=seeded_database_url, BACKLOG_DEMO_VIEWER=viewer, **settings)
        app = create_app(config, database=Database.sharing(connection))
        transport = httpx.ASGITransport(app=app)
        return httpx.AsyncClient(transport=transport, base_url="http://backlog.test")

    return make


@pytest.fixture
async def client(make_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as client:
        yield client


def graphql_caller(client: httpx.AsyncClient) -> GraphQL:
    async def call(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await client.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        return response.json()

    return call


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQL:
    """POST a document as the demo OWNER; returns the JSON body (`data` and `errors`)."""
    return graphql_caller(client)


@pytest.fixture
async def gql_as(
    make_client: Callable[..., httpx.AsyncClient],
) -> AsyncIterator[Callable[[str], GraphQL]]:
    clients: list[httpx.AsyncClient] = []

    def as_viewer(email: str) -> GraphQL:
        client = make_client(email)
        clients.append(client)
        return graphql_caller(client)

    yield as_viewer
    for client in clients:
        await client.aclose()


@pytest.fixture
async def race(engine, seeded_database_url) -> AsyncIterator[dict[str, Any]]:
    """A committed workspace (the demo owner is its OWNER) with one state and one project."""
    database = Database(engine)
    setup = database.request_handle()
    try:
        workspace = await setup.scalar(
            text("INSERT INTO workspaces (slug, name) VALUES ('race-test', 'Race') RETURNING id")
        )
        await setup.fetch_all(
            text(
                "INSERT INTO memberships (workspace_id, user_id, role) "
                "SELECT :w, id, 'OWNER' FROM users WHERE email = :e"
            ).bindparams(w=workspace, e=OWNER)
        )
        await setup.fetch_all(
            text(
                "INSERT INTO workflow_states (workspace_id, name, type, position) "
                "VALUES (:w, 'Todo', 'UNSTARTED', 0)"
            ).bindparams(w=workspace)
        )
        project = await setup.scalar(
            text(
                "INSERT INTO projects (workspace_id, key, name) VALUES (:w, 'RACE', 'Race') "
                "RETURNING id"
            ).bindparams(w=workspace)
        )
        await setup.commit()
    finally:
        await setup.close()
    settings = Settings(
        database_url=seeded_database_url,
        BACKLOG_ENV="development",
        BACKLOG_JWT_SECRET=TEST_JWT_SECRET,
        BACKLOG_DEMO_VIEWER=OWNER,
    )
    app = create_app(settings, database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://backlog.test"
    ) as client:
        yield {
            "client": client,
            "database": database,
            "project": to_global_id("Project", project),
            "workspace": workspace,
        }
    cleanup = database.request_handle()
    try:
        await cleanup.fetch_all(
            text(
                "DELETE FROM activity WHERE workspace_id IN "
                "(SELECT id FROM workspaces WHERE slug = 'race-test')"
            )
        )
        await cleanup.fetch_all(text("DELETE FROM workspaces WHERE slug = 'race-test'"))
        await cleanup.fetch_all(text("DELETE FROM idempotency_keys WHERE key LIKE 'race-%'"))
        await cleanup.commit()
    finally:
        await cleanup.close()


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    return body["data"]
