"""Credential changes under concurrency, on real connections and real commits (not the shared
test transaction): what must hold when requests race."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from auth.tokens import new_family_id, secret_hash
from db import accounts as credentials
from db.session import Database
from server.app import create_app
from server.settings import Settings
from tests.support.actors import OWNER, TEST_JWT_SECRET
from tests.support.races import sql_value, wait_until_blocked


@pytest.fixture
async def database(engine) -> AsyncIterator[Database]:
    """A database whose requests commit for real; rows a test makes are removed after it."""
    yield Database(engine)
    cleanup = Database(engine).request_handle()
    try:
        await cleanup.fetch_all(text("DELETE FROM sign_in_failures WHERE email LIKE '%@race.test'"))
        await cleanup.fetch_all(text("DELETE FROM refresh_tokens WHERE family_id LIKE 'race%'"))
        await cleanup.commit()
    finally:
        await cleanup.close()


async def demo_owner_id(database: Database) -> int:
    return int(await sql_value(database, "SELECT id FROM users WHERE email = :e", e=OWNER))


async def test_work_after_a_commit_runs_in_a_new_transaction(database):
    handle = database.request_handle()
    try:
        await handle.fetch_all(
            credentials.insert_failure(), {"email": "kept@race.test", "client_address": "x"}
        )
        await handle.commit()
        await handle.fetch_all(
            credentials.insert_failure(), {"email": "dropped@race.test", "client_address": "x"}
        )
    finally:
        await handle.close()  # no second commit: the second row must not survive

    check = database.request_handle()
    try:
        rows = await check.fetch_all(
            text("SELECT email FROM sign_in_failures WHERE email LIKE '%@race.test'")
        )
    finally:
        await check.close()
    assert [row.email for row in rows] == ["kept@race.test"]


async def test_a_burst_of_wrong_passwords_gets_only_the_allowed_checks(
    seeded_database_url, database
):
    settings = Settings(
        database_url=seeded_database_url,
        BACKLOG_ENV="production",
        BACKLOG_JWT_SECRET=TEST_JWT_SECRET,
        # Off: the per-account throttle is what this counts, and what a budget spent here would
        # be committed, for other tests to find.
        BACKLOG_RATE_LIMIT="0",
    )
    app = create_app(settings, database=database)
    query = """mutation { logIn(input: {email: "burst@race.test", password: "wrong"}) {
        errors { code } } }"""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://backlog.test"
    ) as client:
        responses = await asyncio.gather(
            *(client.post("/graphql", json={"query": query}) for _ in range(12))
        )
    codes = [r.json()["data"]["logIn"]["errors"][0]["code"] for r in responses]
    assert codes.count("INVALID_CREDENTIALS") == settings.sign_in_failures_per_account
    assert codes.count("THROTTLED") == 12 - settings.sign_in_failures_per_account


async def test_a_revocation_waits_for_a_refresh_in_flight_and_revokes_its_new_token(database):
    user_id, family = await demo_owner_id(database), "race" + new_family_id()[:20]
    old, new = secret_hash("blr_race-old"), secret_hash("blr_race-new")
    expires = datetime.now(UTC) + timedelta(days=1)
    setup = database.request_handle()
    try:
        await setup.fetch_all(
            credentials.insert_refresh_token(),
            {"user_id": user_id, "family_id": family, "token_hash": old, "expires_at": expires},
        )
        await setup.commit()
    finally:
        await setup.close()

    refresh_holds_lock = asyncio.Event()

    async def refresh() -> None:
        handle = database.request_handle()
        try:
            await handle.fetch_all(credentials.lock_user_credentials(), {"user_id": user_id})
            await handle.fetch_one(credentials.use_refresh_token(), {"token_hash": old})
            await handle.fetch_all(
                credentials.insert_refresh_token(),
                {"user_id": user_id, "family_id": family, "token_hash": new, "expires_at": expires},
            )
            refresh_holds_lock.set()
            await wait_until_blocked(database, 1)  # the password change waits for the lock now
            await handle.commit()
        finally:
            await handle.close()

    async def password_change() -> None:
        await refresh_holds_lock.wait()
        handle = database.request_handle()
        try:
            await handle.fetch_all(credentials.lock_user_credentials(), {"user_id": user_id})
            await handle.fetch_all(credentials.revoke_user_refresh_tokens(), {"user_id": user_id})
            await handle.commit()
        finally:
            await handle.close()

    await asyncio.gather(refresh(), password_change())

    check = database.request_handle()
    try:
        live = await check.scalar(
            text("SELECT count(*) FROM refresh_tokens WHERE family_id = :f AND revoked_at IS NULL"),
            {"f": family},
        )
    finally:
        await check.close()
    assert live == 0


async def test_concurrent_refreshes_of_one_token_cannot_both_succeed(database):
    """Two connections use the same refresh token at once: exactly one gets it."""
    token_hash = secret_hash("blr_race-concurrency-test")
    setup = database.request_handle()
    try:
        await setup.fetch_all(
            credentials.insert_refresh_token(),
            {
                "user_id": await demo_owner_id(database),
                "family_id": "race" + new_family_id()[:20],
                "token_hash": token_hash,
                "expires_at": datetime.now(UTC) + timedelta(days=1),
            },
        )
        await setup.commit()
    finally:
        await setup.close()

    first_holds_row = asyncio.Event()

    async def use(*, first: bool) -> bool:
        if not first:
            await first_holds_row.wait()
        handle = database.request_handle()
        try:
            used = await handle.fetch_one(
                credentials.use_refresh_token(), {"token_hash": token_hash}
            )
            if first:
                first_holds_row.set()
                await wait_until_blocked(database, 1)  # the other one waits for the row now
            await handle.commit()
            return used is not None
        finally:
            await handle.close()

    assert await asyncio.gather(use(first=True), use(first=False)) == [True, False]
