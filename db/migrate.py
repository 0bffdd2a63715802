"""Apply Alembic migrations from code: `backlog migrate`, server start-up and the tests use this."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade_to_head(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        # Several server processes may start at once: only one migrates, the others wait.
        await connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727215)")
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))
