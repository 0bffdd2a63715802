"""Rate limits (server/rate_limit.py): a budget of points per caller and window, kept in
PostgreSQL so that every server process draws on the same one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from auth.viewer import Viewer
from db import rate_limits
from db.session import Database, StatementCounter, create_engine
from server.rate_limit import Charge, RateLimiter, address_key
from server.settings import Settings
from tests.support.actors import TEST_JWT_SECRET
from tests.support.graphql import error_codes
from tests.support.processes import running_servers
from tests.support.rate_windows import wait_out_the_window_if_it_is_ending

CHEAP = "{ viewer { id } }"  # one object: 1 point
RATE_LIMIT = "{ rateLimit { cost limit remaining resetAt } }"


async def post(client: httpx.AsyncClient, query: str, **extra: object) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, **extra})


def remaining(response: httpx.Response) -> int:
    return int(response.headers["ratelimit-remaining"])


@pytest.fixture(autouse=True)
def _within_one_default_window() -> None:
    """Most tests here spend a budget of the default window over a few requests."""
    wait_out_the_window_if_it_is_ending()


async def test_every_response_carries_its_cost_and_the_callers_budget(make_client):
    async with make_client(BACKLOG_RATE_LIMIT="1000") as client:
        first = await post(client, CHEAP)
        second = await post(
            client, '{ workspace(slug: "acme") { issues(first: 50) { nodes { id } } } }'
        )

    assert first.status_code == second.status_code == 200
    assert first.json()["extensions"]["cost"] == {"objects": 1, "points": 1}
    # 1 workspace + 1 connection + 50 issues: 52 objects, 1 point per 100 and 1 for the request.
    assert second.json()["extensions"]["cost"] == {"objects": 52, "points": 1}
    budget = second.json()["extensions"]["rateLimit"]
    assert budget["limit"] == 1000 and budget["remaining"] == 998
    assert first.headers["ratelimit-limit"] == "1000"
    assert remaining(first) == 999 and remaining(second) == 998
    reset_at = datetime.fromisoformat(budget["resetAt"])
    assert timedelta(0) < reset_at - datetime.now(UTC) <= timedelta(seconds=60)
    assert 0 <= int(second.headers["ratelimit-reset"]) <= 60


async def test_the_rate_limit_field_says_what_the_extensions_say(make_client):
    async with make_client(BACKLOG_RATE_LIMIT="1000") as client:
        response = await post(client, RATE_LIMIT)

    body = response.json()
    field = body["data"]["rateLimit"]
    assert field["cost"] == body["extensions"]["cost"]["points"] == 1
    assert field["limit"] == 1000 and field["remaining"] == 999
    assert field["resetAt"] == body["extensions"]["rateLimit"]["resetAt"]


async def test_a_spent_budget_is_a_429_that_charges_nothing(make_client):
    async with make_client(BACKLOG_RATE_LIMIT="3") as client:
        answers = [await post(client, CHEAP) for _ in range(3)]
        refused = await post(client, CHEAP)
        again = await post(client, CHEAP)

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert [remaining(answer) for answer in answers] == [2, 1, 0]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert remaining(refused) == 0
    [error] = refused.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["limit"] == 3 and error["extensions"]["remaining"] == 0
    assert "data" not in refused.json()  # refused before its document was read
    assert again.status_code == 429


async def test_documents_that_do_not_even_parse_pay_their_admission(make_client):
    async with make_client(BACKLOG_RATE_LIMIT="2") as client:
        answers = [await post(client, "{ viewer {") for _ in range(3)]

    assert [error_codes(answer) for answer in answers[:2]] == [["GRAPHQL_PARSE_FAILED"]] * 2
    assert answers[2].status_code == 429 and error_codes(answers[2]) == ["RATE_LIMITED"]


async def test_a_429_stays_a_429_in_the_graphql_response_media_type(make_client):
    accept = {"accept": "application/graphql-response+json"}
    async with make_client(BACKLOG_RATE_LIMIT="1") as client:
        await post(client, CHEAP)
        refused = await client.post("/graphql", json={"query": CHEAP}, headers=accept)

    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/graphql-response+json")
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_document_that_does_not_fit_pays_only_its_admission(make_client):
    # 1 workspace + 1 connection + 100 issues + 100 projects: 202 objects, 3 points.
    dear = '{ workspace(slug: "acme") { issues(first: 100) { nodes { project { id } } } } }'
    async with make_client(BACKLOG_RATE_LIMIT="4") as client:
        await post(client, CHEAP)
        await post(client, CHEAP)
        refused = await post(client, dear)  # 1 point to be admitted, 2 more do not fit
        fits = await post(client, CHEAP)

    assert refused.status_code == 429
    [error] = refused.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED" and error["extensions"]["cost"] == 3
    assert refused.json()["data"] is None
    assert fits.status_code == 200 and remaining(fits) == 0


async def test_a_document_dearer_than_the_whole_budget_is_a_cost_error_not_a_wait(make_client):
    big = '{ workspace(slug: "acme") { issues(first: 100) { nodes { id } } } }'  # 2 points
    async with make_client(BACKLOG_RATE_LIMIT="1") as client:
        response = await post(client, big)

    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
    assert error["extensions"]["limit"] == 99  # objects that 1 point pays for
    assert "retry-after" not in response.headers


LOG_IN_TWICE = """mutation {
  a: logIn(input: {email: "nobody@example.com", password: "wrong"}) { errors { code } }
  b: logIn(input: {email: "nobody@example.com", password: "wrong"}) { errors { code } }
}"""


async def test_account_operations_have_their_own_budget_per_address(make_client):
    async with make_client(BACKLOG_ACCOUNT_RATE_LIMIT="3") as client:
        first = await post(client, LOG_IN_TWICE)  # 2 of 3
        second = await post(client, LOG_IN_TWICE)  # 2 more do not fit
        other = await post(client, CHEAP)

    assert first.status_code == 200
    assert first.json()["data"]["a"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    assert second.status_code == 429
    [error] = second.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert "from this address" in error["message"]
    assert other.status_code == 200  # the caller's own budget is another one


async def test_the_account_budget_is_named_when_it_is_the_one_spent(make_client):
    # Anonymous with 50 points: no lease, so both budgets go to PostgreSQL on every request.
    log_in = 'mutation { logIn(input: {email: "x@b.c", password: "y"}) { errors { code } } }'
    async with make_client(
        BACKLOG_ENV="production",
        BACKLOG_ANONYMOUS_RATE_LIMIT="50",
        BACKLOG_ACCOUNT_RATE_LIMIT="2",
    ) as client:
        answers = [await post(client, log_in) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    [error] = answers[2].json()["errors"]
    assert "from this address" in error["message"]
    # The caller's own budget: two sign-ins of 2 points (101 objects: the payload and its
    # list of errors), then the third's admission.
    assert remaining(answers[2]) == 45


async def test_more_account_operations_than_a_window_allows_is_not_worth_a_retry(make_client):
    three = (
        "mutation { "
        + " ".join(
            f'a{n}: logIn(input: {{email: "x@b.c", password: "y"}}) {{ errors {{ code }} }}'
            for n in range(3)
        )
        + " }"
    )
    async with make_client(BACKLOG_ACCOUNT_RATE_LIMIT="2") as client:
        response = await post(client, three)

    assert response.status_code == 200 and "retry-after" not in response.headers
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
    assert error["extensions"]["limit"] == 2


async def test_a_refused_caller_costs_no_statement_until_its_window_ends(
    make_client, rate_limit_connection
):
    counter = StatementCounter()
    counter.attach(rate_limit_connection.sync_connection)
    async with make_client(BACKLOG_RATE_LIMIT="3") as client:  # 3 points: no lease
        answers = [await post(client, CHEAP) for _ in range(10)]
    counter.detach(rate_limit_connection.sync_connection)

    assert [answer.status_code for answer in answers] == [200] * 3 + [429] * 7
    # Three charges; the third's answer said all is spent, which only grows in a window.
    assert len([sql for sql in counter.statements if "rate_limit_charge" in sql]) == 3


async def test_a_fault_in_the_limiter_is_masked_logged_and_retryable(
    make_client, monkeypatch, caplog
):
    async def broken(*args, **kwargs):
        raise ValueError("secret detail of a fault")

    monkeypatch.setattr(rate_limits, "charge", broken)
    async with make_client(BACKLOG_RATE_LIMIT="3") as client:
        response = await post(client, CHEAP)

    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert "secret detail" not in response.text
    assert error_codes(response) == ["SERVICE_UNAVAILABLE"]
    assert [r.message for r in caplog.records if r.exc_info] == [
        "rate limit admission failed (/graphql)"
    ]


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_a_fault_charging_the_document_is_a_retryable_503(
    make_client, monkeypatch, caplog, accept
):
    charge = rate_limits.charge
    calls = []

    async def second_call_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("secret detail of a fault")
        return await charge(*args, **kwargs)

    monkeypatch.setattr(rate_limits, "charge", second_call_fails)
    dear = '{ workspace(slug: "acme") { issues(first: 100) { nodes { id } } } }'  # 2 points
    async with make_client(BACKLOG_RATE_LIMIT="99") as client:  # no lease: a charge each
        response = await client.post("/graphql", json={"query": dear}, headers={"accept": accept})

    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert "secret detail" not in response.text
    assert error_codes(response) == ["SERVICE_UNAVAILABLE"]
    assert [r.message for r in caplog.records if r.exc_info] == ["rate limit charge failed"]


async def test_an_admitted_request_strawberry_refuses_still_tells_the_budget(make_client):
    async with make_client(BACKLOG_RATE_LIMIT="1000") as client:
        response = await client.get("/graphql", params={"query": "mutation { __typename }"})

    assert response.status_code >= 400
    assert remaining(response) == 999  # its admission


async def test_anonymous_callers_are_limited_by_address(make_client):
    async with make_client(BACKLOG_ENV="production", BACKLOG_ANONYMOUS_RATE_LIMIT="2") as client:
        answers = [await post(client, CHEAP) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[0].json()["data"] == {"viewer": None}


async def test_without_rate_limits_the_cost_is_still_told(make_client):
    async with make_client(BACKLOG_RATE_LIMIT="0") as client:
        response = await post(client, RATE_LIMIT)

    assert response.json() == {
        "data": {"rateLimit": None},
        "extensions": {"cost": {"objects": 1, "points": 1}},
    }
    assert "ratelimit-limit" not in response.headers


async def test_a_process_leases_points_instead_of_a_statement_per_request(
    make_client, rate_limit_connection
):
    counter = StatementCounter()
    counter.attach(rate_limit_connection.sync_connection)
    # 100,000 points: a lease of 1,000, so 20 requests of 1 point need one charge.
    async with make_client(BACKLOG_RATE_LIMIT="100000") as client:
        answers = [await post(client, CHEAP) for _ in range(20)]
    counter.detach(rate_limit_connection.sync_connection)

    assert len([sql for sql in counter.statements if "rate_limit_charge" in sql]) == 1
    assert [remaining(answer) for answer in answers] == list(range(99_999, 99_979, -1))


async def test_a_new_window_renews_the_budget(make_client):
    async with make_client(BACKLOG_RATE_LIMIT="1", BACKLOG_RATE_LIMIT_WINDOW_S="1") as client:
        for _ in range(10):
            allowed = await post(client, CHEAP)
            refused = await post(client, CHEAP)
            if allowed.status_code == 200 and refused.status_code == 429:
                break  # both in one window
            # The window turned between them, and the second spent the new window's budget:
            # the next window is another try.
            await asyncio.sleep(0.5)
        assert allowed.status_code == 200 and refused.status_code == 429
        reset_at = datetime.fromisoformat(allowed.json()["extensions"]["rateLimit"]["resetAt"])
        await asyncio.sleep(max(0.0, (reset_at - datetime.now(UTC)).total_seconds()) + 0.05)
        renewed = await post(client, CHEAP)

    assert renewed.status_code == 200 and remaining(renewed) == 0


async def test_a_process_forgets_the_leases_of_windows_that_are_over(rate_limit_connection):
    limiter = RateLimiter(Settings(BACKLOG_RATE_LIMIT_WINDOW_S=1, BACKLOG_RATE_LIMIT=100_000))
    limiter.database = Database.sharing(rate_limit_connection)
    for address in ("192.0.2.1", "192.0.2.2"):
        await limiter.charge([limiter.admission(Viewer.anonymous(), address)])
    assert len(limiter._leases) == 2

    await asyncio.sleep(1.05)
    limiter.forget_expired_leases()

    assert limiter._leases == {}


def test_an_ipv6_client_spends_its_64s_budget_and_garbage_one_shared_budget():
    assert (
        address_key("2001:db8:1:2::1")
        == address_key("2001:db8:1:2:ffff::9")
        == ("2001:db8:1:2::/64")
    )
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.7") == address_key("192.0.2.7") == "192.0.2.7"
    assert address_key("x" * 300) == address_key("unknown") == "unparsed"


async def test_concurrent_requests_of_one_caller_take_one_lease(seeded_database_url):
    database = Database(create_engine(seeded_database_url, pool_size=2))
    limiter = RateLimiter(Settings(BACKLOG_RATE_LIMIT=1000))  # a lease is 10 points
    limiter.database = database
    charge = Charge(f"test:{uuid.uuid4().hex}", 1, 1000)
    try:
        await asyncio.gather(*(limiter.charge([charge]) for _ in range(20)))
        lease = limiter._leases[charge.key]
        assert lease.spent - lease.unused == 20  # what was used: exact
        assert lease.unused <= 10  # one lease in flight at a time, not one per request
    finally:
        handle = database.request_handle()
        await handle.fetch_all(
            text("DELETE FROM rate_limit_windows WHERE key = :key").bindparams(key=charge.key)
        )
        await handle.commit()
        await handle.close()
        await database.dispose()


async def test_callers_idle_for_a_window_are_forgotten(connection):
    await connection.execute(
        text(
            "INSERT INTO rate_limit_windows (key, window_start, spent) VALUES "
            "('user:old', now() - interval '1 hour', 5), ('user:current', now(), 5)"
        )
    )
    await rate_limits.forget_stale_windows(Database.sharing(connection), window_seconds=60)

    keys = (
        await connection.execute(
            text("SELECT key FROM rate_limit_windows WHERE key IN ('user:old', 'user:current')")
        )
    ).scalars()
    assert set(keys) == {"user:current"}


# ---- Two server processes --------------------------------------------------------------------

LIMIT = 10


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory, seeded_database_url) -> Iterator[tuple[int, ...]]:
    with running_servers(
        tmp_path_factory.mktemp("rate-limited-servers"),
        2,
        healthy_within_s=30,
        DATABASE_URL=seeded_database_url,
        BACKLOG_JWT_SECRET=TEST_JWT_SECRET,
        BACKLOG_ENV="production",
        BACKLOG_ANONYMOUS_RATE_LIMIT=str(LIMIT),
        BACKLOG_ACCOUNT_RATE_LIMIT="2",
        BACKLOG_RATE_LIMIT_WINDOW_S="3600",
        # The test speaks for client addresses of its own, through a trusted proxy.
        BACKLOG_TRUSTED_PROXIES="127.0.0.1",
    ) as ports:
        yield ports


def client_address() -> str:
    """An address of a /64 no other test uses, so no other test's spending counts."""
    digits = uuid.uuid4().hex
    return f"2001:db8:{digits[:4]}:{digits[4:8]}::1"


def test_two_processes_share_one_budget(two_servers):
    wait_out_the_window_if_it_is_ending(3600, margin_s=10)  # the two servers' window
    address = client_address()
    answers = []
    for attempt in range(LIMIT + 4):
        port = two_servers[attempt % 2]
        answers.append(
            httpx.post(
                f"http://127.0.0.1:{port}/graphql",
                json={"query": CHEAP},
                headers={"x-forwarded-for": address},
                timeout=10,
            )
        )

    statuses = [answer.status_code for answer in answers]
    assert statuses == [200] * LIMIT + [429] * 4
    assert [remaining(answer) for answer in answers[:LIMIT]] == list(range(LIMIT - 1, -1, -1))
    for refused in answers[LIMIT:]:  # from both processes
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
    # Another address is another budget.
    other = httpx.post(
        f"http://127.0.0.1:{two_servers[0]}/graphql",
        json={"query": CHEAP},
        headers={"x-forwarded-for": client_address()},
        timeout=10,
    )
    assert other.status_code == 200


def test_two_processes_share_the_account_operations_limit(two_servers):
    wait_out_the_window_if_it_is_ending(3600, margin_s=10)  # the two servers' window
    address = client_address()
    log_in = 'mutation { logIn(input: {email: "x@b.c", password: "y"}) { errors { code } } }'
    statuses = [
        httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": log_in},
            headers={"x-forwarded-for": address},
            timeout=10,
        ).status_code
        for port in (*two_servers, *two_servers)
    ]

    assert statuses == [200, 200, 429, 429]
