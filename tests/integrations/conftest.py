"""Webhook deliveries end to end: a database of this package's own on the test server (what
the worker takes must be what these tests committed, and nothing another test left), real HTTP
receivers on localhost ports (`tests/support/webhook_receiver.py`), and the outbox worker, in
this process or as `backlog worker` subprocesses."""

from __future__ import annotations

import asyncio
import base64
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from db import outbox
from db.migrate import upgrade_to_head
from db.session import Database, create_engine
from server.settings import Settings
from server.webhooks import KIND, WebhookSender
from server.worker import OutboxWorker
from tests.support import races
from tests.support.postgres import new_database
from tests.support.processes import clean_environment

OWNER_EMAIL = "owner@hooks.test"
ADMIN_EMAIL = "admin@hooks.test"
MEMBER_EMAIL = "member@hooks.test"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def envelope(number: int = 1) -> dict[str, Any]:
    return {
        "type": "issue.updated",
        "timestamp": "2026-01-01T00:00:00Z",
        "data": {"issue": {"id": f"SXNzdWU6{number}", "title": f"Issue {number}"}},
    }


@dataclass
class Hooks:
    """The package's database (`url`, `database`), its workspace, and what tests do with it."""

    url: str
    database: Database
    workspace: int

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        """One statement in a transaction of its own, committed; its rows."""
        return await races.sql(self.database, statement, **params)

    async def one(self, statement: str, **params: Any) -> Any:
        rows = await self.sql(statement, **params)
        assert len(rows) == 1, rows
        return rows[0]

    async def webhook(self, url: str, *, secret: str | None = None, **columns: Any) -> int:
        """A committed, enabled webhook of the workspace; its id."""
        values = {"secret": secret or new_secret(), **columns}
        names = ", ".join(values)
        placeholders = ", ".join(f":{name}" for name in values)
        row = await self.one(
            f"INSERT INTO webhooks (workspace_id, url, event_types, {names}) "
            f"VALUES (:w, :url, ARRAY['issue.updated'], {placeholders}) RETURNING id",
            w=self.workspace,
            url=url,
            **values,
        )
        return int(row.id)

    async def enqueue(self, webhook: int, count: int = 1) -> list[int]:
        """`count` deliveries to `webhook`, committed in one transaction; their message ids."""
        handle = self.database.request_handle()
        try:
            await outbox.enqueue(
                handle,
                [outbox.NewMessage(KIND, envelope(n), webhook) for n in range(count)],
            )
            rows = await handle.fetch_all(
                text(
                    "SELECT id FROM outbox_messages WHERE target_id = :w ORDER BY id DESC LIMIT :n"
                ).bindparams(w=webhook, n=count)
            )
            await handle.commit()
        finally:
            await handle.close()
        return sorted(row.id for row in rows)

    async def attempts(self, message: int) -> list[Any]:
        return await self.sql(
            "SELECT * FROM webhook_deliveries WHERE message_id = :m ORDER BY id", m=message
        )

    async def message(self, message: int) -> Any:
        return await self.one("SELECT * FROM outbox_messages WHERE id = :m", m=message)

    def worker(self, **settings: Any) -> OutboxWorker:
        """An in-process worker with the webhook sender as `settings` configure it (private
        addresses allowed unless they say otherwise)."""
        return OutboxWorker(self.database, {KIND: self.sender(**settings)}, concurrency=1)

    def sender(self, **settings: Any) -> WebhookSender:
        settings.setdefault("BACKLOG_WEBHOOK_ALLOW_PRIVATE", "true")
        tls = settings.pop("tls", None)
        return WebhookSender(Settings(database_url=self.url, **settings), tls=tls)


@pytest.fixture(scope="package")
async def hooks(server_url: str) -> AsyncIterator[Hooks]:
    async with new_database(server_url, "backlog_hooks") as url:
        engine = create_engine(url, statement_timeout_ms=5000)
        try:
            await upgrade_to_head(engine)
            hooks = Hooks(url, Database(engine), 0)
            workspace = await hooks.one(
                "INSERT INTO workspaces (slug, name) VALUES ('hooks', 'Hooks') RETURNING id"
            )
            hooks.workspace = int(workspace.id)
            members = ((OWNER_EMAIL, "OWNER"), (ADMIN_EMAIL, "ADMIN"), (MEMBER_EMAIL, "MEMBER"))
            for email, role in members:
                await hooks.sql(
                    "WITH u AS (INSERT INTO users (email, name) VALUES (:e, :e) RETURNING id) "
                    "INSERT INTO memberships (workspace_id, user_id, role) "
                    "SELECT :w, id, CAST(:r AS role) FROM u",
                    e=email,
                    w=hooks.workspace,
                    r=role,
                )
            yield hooks
        finally:
            await engine.dispose()


@pytest.fixture(autouse=True)
async def empty_outbox(hooks: Hooks) -> None:
    """Each test starts with no message and no webhook."""
    await hooks.sql("DELETE FROM outbox_messages")
    await hooks.sql("DELETE FROM webhooks")


async def start_worker(
    hooks: Hooks, tmp_path: Path, started: list[subprocess.Popen[bytes]], **settings: str
) -> subprocess.Popen[bytes]:
    """`backlog worker` on the package's database, private addresses allowed, added to
    `started` (the `workers` fixture's); returns once it is sending."""
    process = _spawn_worker(hooks, tmp_path, **settings)
    started.append(process)
    assert process.stdout is not None
    line = await asyncio.to_thread(process.stdout.readline)
    assert b"sending until stopped" in line, line + process.stdout.read()
    return process


def _spawn_worker(hooks: Hooks, tmp_path: Path, **settings: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "worker"],
        cwd=tmp_path,
        env=clean_environment(
            tmp_path,
            DATABASE_URL=hooks.url,
            BACKLOG_WEBHOOK_ALLOW_PRIVATE="true",
            BACKLOG_OUTBOX_POLL_S="0.2",
            **settings,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Worker processes a test started, stopped after it whatever happened."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def payload_of(body: bytes) -> Any:
    return orjson.loads(body)
