"""The server survives its database: a connection that failed is discarded, never reused; a
request that lost its connection gets a retryable 503 (`SERVICE_UNAVAILABLE`, `Retry-After`); the
next request after PostgreSQL is back succeeds, with no process restart; `/readyz` follows.

Everything runs on real connections of an engine of the test's own (its `application_name` tells
its sessions apart), through the app's pooled path, never the tests' shared connection. Backends
are ended from another session with `pg_terminate_backend`; a PostgreSQL of its own is stopped,
started and restarted with `pg_ctl`. Waits poll PostgreSQL with a bound, never sleep blindly.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.session import Database, DatabaseUnavailableError, StatementTimeoutError, create_engine
from server.app import create_app
from server.settings import Settings
from tests.support.actors import OWNER, TEST_JWT_SECRET
from tests.support.factories import RACE_ISSUE_CREATE as CREATE
from tests.support.factories import RaceWorkspace, race_workspace
from tests.support.postgres import ThrowawayPostgres, migrate_and_seed, throwaway_embedded_postgres
from tests.support.races import hold_stream_lock, sql, wait_until_blocked

WITHIN_S = 5.0
VIEWER = "{ viewer { name } }"


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WITHIN_S
    while not await check():
        assert time.monotonic() < deadline, f"not within {WITHIN_S} s: {what}"
        await asyncio.sleep(0.01)


# ---- backends ended by pg_terminate_backend ---------------------------------------------------


@dataclass
class Sessions:
    """The sessions of the app's engine, seen and ended from another one (`admin`)."""

    admin: Database
    name: str

    async def count(self, condition: str = "true") -> int:
        rows = await sql(
            self.admin,
            f"SELECT count(*) FROM pg_stat_activity WHERE application_name = :a AND {condition}",
            a=self.name,
        )
        return int(rows[0][0])

    async def terminate(self, condition: str = "true") -> int:
        """Ends the app's sessions matching `condition`; returns once they are gone."""
        rows = await sql(
            self.admin,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE application_name = :a AND {condition}",
            a=self.name,
        )
        ended = int(rows[0][0])

        async def gone() -> bool:
            return await self.count(condition) == 0

        await eventually(gone, "the terminated sessions are gone")
        return ended


@pytest.fixture
def app_name() -> str:
    return f"backlog-recovery-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def app_engine(seeded_database_url: str, app_name: str) -> AsyncIterator[AsyncEngine]:
    """The app's own engine: two pooled connections (and two of overflow)."""
    engine = create_engine(
        seeded_database_url, pool_size=2, statement_timeout_ms=3000, application_name=app_name
    )
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine, app_name: str) -> Sessions:
    """The session-wide test engine is the admin: another application name."""
    return Sessions(Database(engine), app_name)


@pytest.fixture
async def workspace(
    app_engine: AsyncEngine, seeded_database_url: str
) -> AsyncIterator[RaceWorkspace]:
    async with race_workspace(app_engine, seeded_database_url) as workspace:
        yield workspace


async def create(workspace: RaceWorkspace, title: str, key: str | None = None) -> httpx.Response:
    variables = {"input": {"projectId": workspace.project, "title": title, "idempotencyKey": key}}
    return await workspace.client.post("/graphql", json={"query": CREATE, "variables": variables})


def created(response: httpx.Response) -> bool:
    body = response.json()
    return (
        response.status_code == 200
        and "errors" not in body
        and body["data"]["issueCreate"]["issue"] is not None
    )


async def issue_count(sessions: Sessions, workspace: RaceWorkspace) -> int:
    rows = await sql(
        sessions.admin, "SELECT count(*) FROM issues WHERE workspace_id = :w", w=workspace.workspace
    )
    return int(rows[0][0])


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    codes = [error["extensions"]["code"] for error in response.json()["errors"]]
    assert codes and set(codes) == {"SERVICE_UNAVAILABLE"}, codes


async def test_the_next_request_after_idle_sessions_are_terminated_succeeds(workspace, sessions):
    # Two requests at once: both pooled connections are open, then idle, when they are ended.
    warm = await asyncio.gather(*(create(workspace, f"warm {i}") for i in range(2)))
    assert all(created(response) for response in warm)
    assert await sessions.terminate() == 2

    after = await asyncio.gather(*(create(workspace, f"after {i}") for i in range(3)))
    assert all(created(response) for response in after), [r.text for r in after]
    assert (await workspace.client.get("/readyz")).status_code == 200
    assert await issue_count(sessions, workspace) == 5


async def test_sessions_terminated_between_requests_of_a_client(workspace, sessions):
    for round in range(3):
        assert created(await create(workspace, f"round {round}"))
        await sessions.terminate()
    query = await workspace.client.post("/graphql", json={"query": VIEWER})
    assert query.status_code == 200 and "errors" not in query.json()
    assert await issue_count(sessions, workspace) == 3


async def test_a_request_whose_session_is_terminated_mid_transaction_gets_503(
    workspace, sessions, caplog
):
    assert created(await create(workspace, "acknowledged"))
    # The stream lock stops the mutation at its last statement, its issue inserted, uncommitted.
    holder = await hold_stream_lock(sessions.admin, workspace.workspace)
    try:
        request = asyncio.ensure_future(create(workspace, "lost", key="race-recovery-1"))
        await wait_until_blocked(sessions.admin, tasks=[request])
        assert await sessions.terminate("wait_event_type = 'Lock'") == 1
        response = await request
    finally:
        await holder.close()

    assert_unavailable(response)
    assert response.json()["data"] == {"issueCreate": None}
    assert await issue_count(sessions, workspace) == 1  # the lost one left nothing behind
    # One line for the request, no traceback, nothing logged as an unexpected error.
    failures = [r for r in caplog.records if r.name == "backlog.database"]
    assert len(failures) == 1 and failures[0].exc_info is None, failures
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # The client retries with the same key: created once.
    assert created(await create(workspace, "lost", key="race-recovery-1"))
    assert created(await create(workspace, "lost", key="race-recovery-1"))
    assert await issue_count(sessions, workspace) == 2


async def test_a_session_ended_by_idle_in_transaction_timeout_is_not_reused(app_engine, sessions):
    database = Database(app_engine)
    handle = database.request_handle()
    try:
        await handle.fetch_all(text("SET LOCAL idle_in_transaction_session_timeout = '50ms'"))
        pid = await handle.scalar(text("SELECT pg_backend_pid()"))

        async def ended() -> bool:
            return await sessions.count(f"pid = {int(pid)}") == 0

        await eventually(ended, "the idle transaction's session ends")
        with pytest.raises(DatabaseUnavailableError):
            await handle.scalar(text("SELECT 1"))
        assert handle.failure is not None
    finally:
        await handle.close()
    await _every_pooled_connection_works(database, 2)


async def test_a_cancelled_statement_never_leaves_its_connection_busy(app_engine, sessions):
    database = Database(app_engine)
    handle = database.request_handle()
    statement = asyncio.ensure_future(handle.fetch_all(text("SELECT pg_sleep(2.5)")))

    async def running() -> bool:
        return await sessions.count("state = 'active' AND query LIKE '%pg_sleep%'") == 1

    await eventually(running, "the statement runs")
    statement.cancel()
    with pytest.raises(asyncio.CancelledError):
        await statement
    # Its transaction went with it: the handle refuses to go on as if nothing happened.
    with pytest.raises(DatabaseUnavailableError):
        await handle.scalar(text("SELECT 1"))
    await handle.close()

    async def cancelled() -> bool:
        return await sessions.count("query LIKE '%pg_sleep%'") == 0

    await eventually(cancelled, "the cancelled statement's session ends")
    await _every_pooled_connection_works(database, 2)


async def test_after_a_statement_timeout_the_transaction_is_refused_until_rolled_back(app_engine):
    handle = Database(app_engine).request_handle()
    try:
        pid = await handle.scalar(text("SELECT pg_backend_pid()"))
        await handle.fetch_all(text("SET LOCAL statement_timeout = 50"))
        with pytest.raises(StatementTimeoutError):
            await handle.fetch_all(text("SELECT pg_sleep(1)"))
        # PostgreSQL aborted the transaction: later statements, and a commit, say so.
        with pytest.raises(StatementTimeoutError):
            await handle.scalar(text("SELECT 1"))
        with pytest.raises(StatementTimeoutError):
            await handle.commit()
        await handle.rollback()
        assert await handle.scalar(text("SELECT pg_backend_pid()")) == pid  # a healthy connection
    finally:
        await handle.close()


async def _every_pooled_connection_works(database: Database, pool_size: int) -> None:
    """Requests on every pooled connection at once, twice over: none gets a failed one."""
    for _ in range(2):
        handles = [database.request_handle() for _ in range(pool_size)]
        try:
            values = await asyncio.gather(*(h.scalar(text("SELECT 1")) for h in handles))
        finally:
            for handle in handles:
                await handle.close()
        assert values == [1] * pool_size


# ---- PostgreSQL itself stopped, started, restarted --------------------------------------------


@pytest.fixture(scope="module")
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    with throwaway_embedded_postgres("backlog-recovery-") as postgres:
        yield postgres


@pytest.fixture(scope="module")
async def throwaway_database(throwaway_postgres: ThrowawayPostgres) -> ThrowawayPostgres:
    await migrate_and_seed(throwaway_postgres.url)
    return throwaway_postgres


@pytest.fixture
async def restarted_client(
    throwaway_database: ThrowawayPostgres,
) -> AsyncIterator[httpx.AsyncClient]:
    url = throwaway_database.url
    settings = Settings(
        database_url=url,
        BACKLOG_ENV="development",
        BACKLOG_JWT_SECRET=TEST_JWT_SECRET,
        BACKLOG_DEMO_VIEWER=OWNER,
    )
    database = Database(create_engine(url, pool_size=3))
    # The rate limiter's own pool, as in production: it must recover from the restart too.
    rate_limit_database = Database(create_engine(url, pool_size=2))
    app = create_app(settings, database=database, rate_limit_database=rate_limit_database)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://backlog.test"
        ) as client:
            yield client
    finally:
        await database.dispose()
        await rate_limit_database.dispose()


async def viewer_request(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/graphql", json={"query": VIEWER})


def answered(response: httpx.Response) -> bool:
    return response.status_code == 200 and "errors" not in response.json()


async def test_while_postgres_is_down_requests_get_503_and_the_first_after_it_is_back_succeeds(
    restarted_client, throwaway_database
):
    client = restarted_client
    assert all(
        answered(r) for r in await asyncio.gather(*(viewer_request(client) for _ in range(3)))
    )
    assert (await client.get("/readyz")).status_code == 200

    await throwaway_database.stop()
    try:
        assert_unavailable(await viewer_request(client))
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.headers["retry-after"] == "1"
        assert (await client.get("/healthz")).status_code == 200  # the process is fine
    finally:
        await throwaway_database.start()  # returns once PostgreSQL accepts connections

    accepting = time.monotonic()
    assert answered(await viewer_request(client))
    assert time.monotonic() - accepting < 1.0
    assert (await client.get("/readyz")).status_code == 200


async def test_restart_under_load_loses_no_acknowledged_write(restarted_client, throwaway_database):
    client = restarted_client
    project = await _project_id(client)
    acknowledged: set[str] = set()
    statuses: set[int] = set()
    restarted = asyncio.Event()
    first_success_after: list[float] = []

    async def writer(number: int) -> None:
        for attempt in range(1_000):
            title = f"load {number}-{attempt}"
            response = await client.post(
                "/graphql",
                json={
                    "query": CREATE,
                    "variables": {"input": {"projectId": project, "title": title}},
                },
            )
            statuses.add(response.status_code)
            if response.status_code == 503:
                assert response.headers["retry-after"] == "1"
            elif created(response):
                acknowledged.add(title)
                if restarted.is_set():
                    first_success_after.append(time.monotonic())
                    return

    writers = [asyncio.ensure_future(writer(n)) for n in range(6)]

    async def some_written() -> bool:
        return len(acknowledged) >= 12

    await eventually(some_written, "writes go through before the restart")
    await throwaway_database.restart()
    back = time.monotonic()
    restarted.set()
    await asyncio.wait_for(asyncio.gather(*writers), WITHIN_S)

    assert statuses <= {200, 503}, statuses  # never a bare 500
    assert max(first_success_after) - back < 2.0
    admin = create_engine(throwaway_database.url)
    try:
        async with admin.connect() as connection:
            rows = await connection.execute(
                text("SELECT title FROM issues WHERE title LIKE 'load %'")
            )
            stored = [row[0] for row in rows]
    finally:
        await admin.dispose()
    assert acknowledged <= set(stored)  # no acknowledged write lost
    assert len(stored) == len(set(stored))


async def _project_id(client: httpx.AsyncClient) -> str:
    body = (
        await client.post(
            "/graphql", json={"query": '{ workspace(slug: "acme") { projects { nodes { id } } } }'}
        )
    ).json()
    return str(body["data"]["workspace"]["projects"]["nodes"][0]["id"])
