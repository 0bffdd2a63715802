"""The migrations build exactly the models, and every foreign key is indexed."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from db.models import Base


async def test_migrations_match_the_models(connection):
    def diff(sync_connection):
        context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    assert await connection.run_sync(diff) == []


async def test_every_foreign_key_leads_an_index(connection):
    # A foreign key whose first column leads no index makes joins and cascades scan the table.
    rows = await connection.execute(
        text(
            """
            SELECT c.conrelid::regclass::text AS table_name, c.conname, c.conkey[1] AS first_column
            FROM pg_constraint c
            WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
              AND NOT EXISTS (
                SELECT 1 FROM pg_index i
                WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1]
              )
            """
        )
    )
    assert rows.all() == []
