"""The seeded state that the write workloads return the benchmark's database to.

issueCreate, issueUpdate and mixed commit real changes to the database every server shares, and
the data folder outlives the run. Left alone, each run would read a bigger and different
database than the last, and within a run every read measured after a write would too. So the
first time the bench opens a database it records, in a schema of its own (`bench_baseline`,
which PostGraphile, serving `public`, never sees):

- the highest issue and activity ids: rows above them are the bench's, and are deleted (an
  issue's labels and comments go with it);
- every project's `last_issue_number`, which issueCreate advances;
- every issue's title, priority, state, version and `updated_at`, the columns issueUpdate
  changes; a row whose version moved is put back;
- webhooks, the outbox, notifications and issue subscriptions, which the seed leaves empty:
  emptied.

`restore` does that in one transaction after every run that wrote (its warm-up, its measured
window, the answer checks, the statement count), then VACUUMs and ANALYZEs the tables it touched
so that dead rows, GIN pending-list entries and statistics do not linger into the next run. It
is chosen over "run the writes last" because it also keeps runs of later invocations, and each
write run of this one, on the same rows; `find_targets` runs after it, so a run killed half way
is undone by the next.

    await record_once(engine)  # when the database is opened, then restore(engine)
    written = restore_database(url)  # after each run that wrote: what it undid
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text

from db.session import create_engine

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

SCHEMA = "bench_baseline"

_RECORD = (
    f"CREATE SCHEMA {SCHEMA}",
    f"""CREATE TABLE {SCHEMA}.high_water AS SELECT
          (SELECT coalesce(max(id), 0) FROM issues) AS issue_id,
          (SELECT coalesce(max(id), 0) FROM activity) AS activity_id""",
    f"CREATE TABLE {SCHEMA}.projects AS SELECT id, last_issue_number FROM projects",
    f"""CREATE TABLE {SCHEMA}.issues AS
          SELECT id, title, priority, state_id, version, updated_at FROM issues""",
    f"ALTER TABLE {SCHEMA}.issues ADD PRIMARY KEY (id)",
)

_RESTORE = {
    "issues_created": f"""
        DELETE FROM issues WHERE id > (SELECT issue_id FROM {SCHEMA}.high_water)""",
    "activity_appended": f"""
        DELETE FROM activity WHERE id > (SELECT activity_id FROM {SCHEMA}.high_water)""",
    "issues_updated": f"""
        UPDATE issues i SET title = b.title, priority = b.priority, state_id = b.state_id,
          version = b.version, updated_at = b.updated_at
        FROM {SCHEMA}.issues b WHERE b.id = i.id AND i.version <> b.version""",
    "projects_renumbered": f"""
        UPDATE projects p SET last_issue_number = b.last_issue_number
        FROM {SCHEMA}.projects b
        WHERE b.id = p.id AND p.last_issue_number <> b.last_issue_number""",
    # What the writes set off (assignments notify, and email; the outbox workload's webhook
    # sends): the seed has none of these. Left, email waiting for an SMTP server would be
    # retried during later runs, and every earlier run's webhook would get each event too.
    "webhooks_created": "DELETE FROM webhooks",
    "messages_written": "DELETE FROM outbox_messages",
    "notifications_written": "DELETE FROM notifications",
    "subscriptions_written": "DELETE FROM issue_subscriptions",
}
_VACUUMED = ("issues", "issue_labels", "activity", "projects")


@dataclass(frozen=True)
class Written:
    """What a restore undid: the rows the writes since the last restore had left. Each field is
    the row count of the _RESTORE statement of that name."""

    issues_created: int = 0
    activity_appended: int = 0
    issues_updated: int = 0
    projects_renumbered: int = 0
    webhooks_created: int = 0
    messages_written: int = 0
    notifications_written: int = 0
    subscriptions_written: int = 0

    @property
    def anything(self) -> bool:
        return any((self.issues_created, self.activity_appended, self.issues_updated))


async def record_once(engine: AsyncEngine) -> bool:
    """Record the database's state as the baseline unless one is; True if it was just now."""
    async with engine.begin() as connection:
        exists = await connection.scalar(
            text("SELECT count(*) FROM pg_namespace WHERE nspname = :schema"), {"schema": SCHEMA}
        )
        if exists:
            return False
        for statement in _RECORD:
            await connection.execute(text(statement))
        return True


async def restore(engine: AsyncEngine) -> Written:
    """Put the database back to the baseline; what had been written since."""
    async with engine.begin() as connection:
        counts = {
            name: (await connection.execute(text(statement))).rowcount
            for name, statement in _RESTORE.items()
        }
    written = Written(**counts)
    if written.anything:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f"VACUUM (ANALYZE) {', '.join(_VACUUMED)}"))
    return written


def restore_database(url: str) -> Written:
    """`restore` for synchronous callers, on a connection of its own."""

    async def run() -> Written:
        engine = create_engine(url, pool_size=1, statement_timeout_ms=0)
        try:
            return await restore(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())
