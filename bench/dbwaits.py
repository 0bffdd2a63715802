"""What the database's connections were doing during a run, sampled from pg_stat_activity.

Every write appends to the activity log last, under its workspace's transaction-level advisory
lock that orders that workspace's stream (db/activity.py), so writers to one workspace queue
there (writers to different workspaces do not); issueCreate also takes its project's row lock
to number the issue. Neither shows in requests/s alone. A sampler polls
pg_stat_activity every SAMPLE_INTERVAL_S on a connection of its own while wrk runs, and the
report gives the mean number of the servers' connections in each state:

- `busy`: in a transaction or running a statement (at most the servers' pool sizes);
- `running`: executing, not waiting on anything;
- `stream_lock`: waiting for an advisory lock: a workspace's activity stream lock, in writes;
- `row_locks`: waiting for a row another transaction holds (`transactionid`, `tuple`);
- `other_locks`: waiting for any other heavyweight lock;
- `io`: waiting on I/O or a lightweight lock (WAL flushes at commit, mostly);
- `in_app`: idle in a transaction, i.e. waiting for the application's next statement.

Used for the runs that write; the sampler's own queries (about 20 a second, each a fraction of
a millisecond) land in the database's CPU figure.

    sampler = WaitSampler(database_url)
    sampler.start()
    ...  # the run
    means = sampler.stop()  # {"busy": 9.6, "stream_lock": 4.1, ...}, or None
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from sqlalchemy import text

from db.session import create_engine

SAMPLE_INTERVAL_S = 0.05
STATES = ("busy", "running", "stream_lock", "row_locks", "other_locks", "io", "in_app")

_SAMPLE = text(
    """
    SELECT
      count(*) FILTER (WHERE state <> 'idle') AS busy,
      count(*) FILTER (WHERE state = 'active' AND wait_event IS NULL) AS running,
      count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'advisory')
        AS stream_lock,
      count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple'))
        AS row_locks,
      count(*) FILTER (WHERE wait_event_type = 'Lock'
        AND wait_event NOT IN ('advisory', 'transactionid', 'tuple')) AS other_locks,
      count(*) FILTER (WHERE state = 'active' AND wait_event_type IN ('IO', 'LWLock')) AS io,
      count(*) FILTER (WHERE state LIKE 'idle in transaction%') AS in_app
    FROM pg_stat_activity
    WHERE datname = current_database()
      AND backend_type = 'client backend'
      AND pid <> pg_backend_pid()
    """
)


class WaitSampler:
    """Samples pg_stat_activity from a thread of its own between start() and stop()."""

    def __init__(self, url: str, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self._url = url
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._totals = dict.fromkeys(STATES, 0)
        self._samples = 0
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Returns once connected, so the first sample falls inside the run."""
        self._thread = threading.Thread(target=self._main, name="db-wait-sampler", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=30)

    def stop(self) -> dict[str, Any] | None:
        """Mean connections per state over the samples, and their count; None if none."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._error is not None or not self._samples:
            return None
        means: dict[str, Any] = {
            state: round(total / self._samples, 2) for state, total in self._totals.items()
        }
        means["samples"] = self._samples
        return means

    def _main(self) -> None:
        try:
            asyncio.run(self._sample())
        except BaseException as error:  # reported as "no samples", never breaking a run
            self._error = error
        finally:
            self._ready.set()

    async def _sample(self) -> None:
        engine = create_engine(self._url, pool_size=1)
        try:
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                self._ready.set()
                while not self._stop.is_set():
                    row = (await connection.execute(_SAMPLE)).one()
                    for state in STATES:
                        self._totals[state] += int(getattr(row, state))
                    self._samples += 1
                    await asyncio.sleep(self._interval_s)
        finally:
            await engine.dispose()
