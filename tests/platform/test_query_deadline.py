"""A query stops at its deadline (`BACKLOG_QUERY_DEADLINE_S`): the client gets TIMEOUT, its
statement is cancelled, its connection released, and the next request is served."""

from __future__ import annotations

import time

import httpx

from server.app import create_app
from server.settings import Settings
from tests.support.actors import OWNER, TEST_JWT_SECRET
from tests.support.factories import RACE_SLUG
from tests.support.graphql import without_cost
from tests.support.races import hold_rows

ISSUES = '{ workspace(slug: "' + RACE_SLUG + '") { issues(first: 5) { totalCount } } }'


async def test_a_query_past_its_deadline_is_stopped_and_its_connection_released(
    race, seeded_database_url
):
    settings = Settings(
        database_url=seeded_database_url,
        BACKLOG_ENV="development",
        BACKLOG_JWT_SECRET=TEST_JWT_SECRET,
        BACKLOG_DEMO_VIEWER=OWNER,
        BACKLOG_QUERY_DEADLINE_S=0.5,
        BACKLOG_RATE_LIMIT="0",  # its spending would be committed (tests/support/factories.py)
    )
    app = create_app(settings, database=race.database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://backlog.test") as client:
        # Readers of `issues` wait for this lock: the query cannot finish on its own.
        holder = await hold_rows(race.database, "LOCK TABLE issues IN ACCESS EXCLUSIVE MODE")
        try:
            started = time.monotonic()
            stopped = await client.post("/graphql", json={"query": ISSUES})
            elapsed = time.monotonic() - started
        finally:
            await holder.close()
        served = await client.post("/graphql", json={"query": ISSUES})

    assert stopped.status_code == 503
    assert [e["extensions"]["code"] for e in stopped.json()["errors"]] == ["TIMEOUT"]
    assert 0.5 <= elapsed < 2  # the deadline, not the 5 s statement timeout, ended it
    assert served.status_code == 200
    assert without_cost(served) == {"data": {"workspace": {"issues": {"totalCount": 0}}}}
