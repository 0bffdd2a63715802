"""Two real `backlog serve` processes on a PostgreSQL of this package's own (so a test may
restart it, and what tests commit stays here), and what tests need to drive them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.ids import to_global_id
from db.session import create_engine
from tests.support.actors import OWNER, TEST_JWT_SECRET
from tests.support.credentials import ISSUER
from tests.support.postgres import ThrowawayPostgres, migrate_and_seed, throwaway_embedded_postgres
from tests.support.processes import running_servers

SETTINGS = {
    "BACKLOG_ENV": "production",
    "BACKLOG_JWT_SECRET": TEST_JWT_SECRET,
    "BACKLOG_RATE_LIMIT": "0",
    "BACKLOG_WS_INIT_TIMEOUT_S": "1",
    "BACKLOG_WS_MAX_SUBSCRIPTIONS": "5",
    "BACKLOG_WS_MAX_CONNECTIONS_PER_USER": "8",
    "BACKLOG_WS_MAX_SUBSCRIPTIONS_PER_USER": "12",
    "BACKLOG_WS_RECHECK_S": "1",
    "BACKLOG_WS_MAX_QUEUED": "20",
    "BACKLOG_WS_MAX_MESSAGE_BYTES": "4096",
}


@dataclass
class Live:
    """The two servers (`ports`), their database, and helpers to act on them."""

    ports: tuple[int, ...]
    postgres: ThrowawayPostgres
    engine: AsyncEngine

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.begin() as connection:
            return await connection.scalar(text(sql), params)

    async def execute(self, sql: str, **params: Any) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(text(sql), params)

    async def token(self, email: str) -> str:
        user = await self.scalar("SELECT id FROM users WHERE email = :e", e=email)
        return ISSUER.issue(user)[0]

    async def graphql(self, port: int, token: str, query: str, **variables: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(
                f"http://127.0.0.1:{port}/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            )
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        return body["data"]

    async def global_id(self, type_name: str, sql: str, **params: Any) -> str:
        return to_global_id(type_name, await self.scalar(sql, **params))

    async def head(self) -> str:
        """The cursor of acme's stream now. A test subscribes `after:` it, and so gets every
        event it writes next, however soon: the protocol acknowledges no subscribe."""
        data = await self.graphql(
            self.ports[0],
            await self.token(OWNER),
            'query { workspace(slug: "acme") { changes(since: null) { cursor } } }',
        )
        return str(data["workspace"]["changes"]["cursor"])

    async def acme(self) -> str:
        return await self.global_id("Workspace", "SELECT id FROM workspaces WHERE slug = 'acme'")

    async def an_issue(self, offset: int, *, from_the_end: bool = False) -> str:
        """One of acme's issues: each test takes its own (one module from each end), so their
        events never mix."""
        order = "DESC" if from_the_end else "ASC"
        return await self.global_id(
            "Issue",
            "SELECT i.id FROM issues i JOIN workspaces w ON w.id = i.workspace_id "
            f"WHERE w.slug = 'acme' AND i.archived_at IS NULL ORDER BY i.id {order} "
            "OFFSET :o LIMIT 1",
            o=offset,
        )


RENAME = """
mutation($id: ID!, $title: String!) {
  issueUpdate(input: {id: $id, title: $title}) { errors { message } }
}
"""


@pytest.fixture
async def owner(live: Live) -> str:
    return await live.token(OWNER)


@pytest.fixture(scope="package")
def live_postgres() -> Iterator[ThrowawayPostgres]:
    with throwaway_embedded_postgres("backlog-live-") as postgres:
        yield postgres


@pytest.fixture(scope="package")
async def live(live_postgres: ThrowawayPostgres, tmp_path_factory) -> AsyncIterator[Live]:
    await migrate_and_seed(live_postgres.url)
    tmp_path = tmp_path_factory.mktemp("live-servers")
    engine = create_engine(live_postgres.url, statement_timeout_ms=0)
    try:
        with running_servers(
            tmp_path,
            2,
            healthy_within_s=60,
            stop_within_s=15,
            DATABASE_URL=live_postgres.url,
            **SETTINGS,
        ) as ports:
            yield Live(ports, live_postgres, engine)
    finally:
        await engine.dispose()
