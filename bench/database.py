"""The PostgreSQL the servers share: the embedded one in --data-dir, or DATABASE_URL; migrated,
seeded when empty, back at its baseline (bench/baseline.py), with pg_stat_statements loaded
where it can be."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import baseline
from bench.options import Options
from bench.procstat import postgres_pids
from bench.workloads import Targets, find_targets
from db.session import create_engine
from server.seed import DEMO_EMAIL, SCALES


@dataclass
class DatabaseInfo:
    url: str
    pgdata: Path | None  # whose processes' CPU is measured; None when not visible from here
    pg_stat_statements: bool
    version: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    targets: Targets | None = None
    seeded_now: bool = False


async def _preload_pg_stat_statements(url: str) -> str:
    """'loaded', 'absent' (no extension files), or 'restart' after ALTER SYSTEM asked for it."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            available = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_stat_statements'"
                )
            )
            if not available:
                return "absent"
            preload = str(await connection.scalar(text("SHOW shared_preload_libraries")))
            libraries = [lib.strip() for lib in preload.split(",") if lib.strip()]
            if "pg_stat_statements" in libraries:
                return "loaded"
            # Kept in postgresql.auto.conf, so only the first run on a data folder restarts.
            quoted = ", ".join(f"'{lib}'" for lib in [*libraries, "pg_stat_statements"])
            await connection.execute(text(f"ALTER SYSTEM SET shared_preload_libraries = {quoted}"))
            return "restart"
    finally:
        await engine.dispose()


async def _prepare(url: str, scale: str, notes: list[str], *, embedded: bool) -> DatabaseInfo:
    from db.migrate import upgrade_to_head
    from server.seed import database_is_empty, seed

    info = DatabaseInfo(url=url, pgdata=None, pg_stat_statements=False)
    engine = create_engine(url, statement_timeout_ms=0)
    try:
        await upgrade_to_head(engine)
        if await database_is_empty(engine):
            print(f"Seeding the {scale} data set (once per data folder) ...", flush=True)
            await seed(engine, SCALES[scale])
            info.seeded_now = True
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                # Fresh statistics, so every server gets the plans the data deserves.
                await connection.execute(text("ANALYZE"))
        if await baseline.record_once(engine):
            print("Recorded the baseline the write workloads are undone to.", flush=True)
        left = await baseline.restore(engine)
        if left.anything:
            notes.append(f"undid what an earlier, interrupted run had written: {left}")
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            info.version = str(await connection.scalar(text("SHOW server_version")))
            for table in ("workspaces", "users", "projects", "issues", "comments"):
                info.rows[table] = int(
                    await connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0
                )
            preload = str(await connection.scalar(text("SHOW shared_preload_libraries")))
            if "pg_stat_statements" in preload:
                # Only where the library is loaded: CREATE EXTENSION works without it, but
                # then every read of the view fails.
                await connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
                info.pg_stat_statements = True
            if not embedded:
                info.pgdata = await _data_directory(connection)
        info.targets = await find_targets(engine, DEMO_EMAIL)
    finally:
        await engine.dispose()
    return info


async def _data_directory(connection: Any) -> Path | None:
    """DATABASE_URL's data folder when the server runs on this machine and says where."""
    try:
        folder = Path(str(await connection.scalar(text("SHOW data_directory"))))
    except Exception:  # needs pg_read_all_settings; then the database's CPU is not measured
        return None
    return folder if postgres_pids(folder) else None


@contextlib.contextmanager
def open_database(options: Options, notes: list[str]) -> Iterator[DatabaseInfo]:
    """The database the servers share, prepared; the embedded server is stopped on exit."""
    if url := os.environ.get("DATABASE_URL"):
        print("Using DATABASE_URL (not the embedded PostgreSQL).", flush=True)
        info = asyncio.run(_prepare(url, options.scale, notes, embedded=False))
        if info.pgdata is None:
            notes.append("the database server's processes are not visible: DB CPU is n/a")
        yield info
        return

    from db.embedded import database_url, start_embedded_postgres

    pgdata = options.data_dir / "pgdata"
    print(f"Starting the embedded PostgreSQL in {pgdata} ...", flush=True)
    _forget_dead_handles(pgdata)
    server = start_embedded_postgres(pgdata, keep_running=False)
    try:
        if asyncio.run(_preload_pg_stat_statements(database_url(server))) == "restart":
            print("Restarting it to load pg_stat_statements ...", flush=True)
            server.cleanup()
            server = start_embedded_postgres(pgdata, keep_running=False)
        info = asyncio.run(_prepare(database_url(server), options.scale, notes, embedded=True))
        info.pgdata = pgdata
        yield info
    finally:
        server.cleanup()
        if postgres_pids(pgdata):
            # Another process still holds a handle on it (embedded_postgres counts them).
            print(f"warning: PostgreSQL in {pgdata} is still running", file=sys.stderr)


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop the pids of exited processes from embedded_postgres' list of handles.

    It stops the server when the last process holding a handle lets go, and lists those by
    pid in pgdata/.handle_pids.json. A bench killed outright (SIGKILL, as a wrapper's Ctrl-C
    handling can do) stays listed forever, and then no later run would stop the server either:
    with it forgotten, this run stops the server it finds still running.
    """
    path = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if _alive(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process, but alive
    return True
