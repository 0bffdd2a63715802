"""Password reset: `passwordResetRequest` emails a single-use, expiring link (received here by a
real SMTP server), `passwordResetComplete` sets the new password with its token and ends every
session of the account. The app runs in production mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.support.credentials import ISSUER
from tests.support.mail import outbox_emails, send_due, settle_earlier_messages, smtp_server
from tests.support.rate_windows import wait_out_the_window_if_it_is_ending

APP_URL = "https://app.example"
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
EMAIL = "forgetful@example.com"

Call = Callable[..., Awaitable[httpx.Response]]

SIGN_UP = """mutation ($email: String!, $password: String!) { signUp(input: {email: $email,
  password: $password, name: "Forgetful <Fred>"}) { refreshToken errors { code } } }"""
LOG_IN = """mutation ($email: String!, $password: String!) {
  logIn(input: {email: $email, password: $password}) { accessToken errors { code } } }"""
REFRESH = """mutation ($token: String!) { tokenRefresh(input: {refreshToken: $token}) {
  accessToken errors { code } } }"""
REQUEST = """mutation ($email: String!) { passwordResetRequest(input: {email: $email}) {
  errors { code field } } }"""
COMPLETE = """mutation ($token: String!, $password: String!) {
  passwordResetComplete(input: {token: $token, newPassword: $password}) {
    errors { code field message } } }"""


@pytest.fixture
async def api(make_client, connection) -> AsyncIterator[Call]:
    await settle_earlier_messages(connection)
    async with make_client(BACKLOG_ENV="production", BACKLOG_APP_URL=APP_URL) as client:

        async def call(query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
            return await client.post("/graphql", json={"query": query, "variables": variables})

        yield call


async def payload(api: Call, query: str, **variables: str) -> dict[str, Any]:
    response = await api(query, variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return dict(next(iter(body["data"].values())))


async def signed_up(api: Call) -> str:
    """A new account; its refresh token."""
    made = await payload(api, SIGN_UP, email=EMAIL, password=PASSWORD)
    assert made["errors"] == []
    return str(made["refreshToken"])


async def reset_token(connection, api: Call, email: str = EMAIL) -> str:
    """Asks for a reset of `email`; the token of the link the email that arrived carries."""
    assert (await payload(api, REQUEST, email=email)) == {"errors": []}
    with smtp_server() as server:
        assert await send_due(connection, server.url)
        (received,) = server.inbox.wait_for(1)
    assert received.envelope_to == [EMAIL]
    assert received.message["Subject"] == "Reset your Backlog password"
    assert f"{APP_URL}/reset-password?token=" in received.part("plain")
    assert "Forgetful &lt;Fred&gt;" in received.part("html")
    return received.link("/reset-password")


async def complete(api: Call, token: str, password: str = NEW_PASSWORD) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = (await payload(api, COMPLETE, token=token, password=password))[
        "errors"
    ]
    return errors


def codes(errors: list[dict[str, Any]]) -> list[str]:
    return [error["code"] for error in errors]


async def test_a_reset_link_from_the_email_sets_a_new_password_and_ends_every_session(
    connection, api
):
    refresh_token = await signed_up(api)
    token = await reset_token(connection, api, email="  Forgetful@Example.com ")

    assert await complete(api, token) == []
    assert codes((await payload(api, LOG_IN, email=EMAIL, password=PASSWORD))["errors"]) == [
        "INVALID_CREDENTIALS"
    ]
    signed_in = await payload(api, LOG_IN, email=EMAIL, password=NEW_PASSWORD)
    assert signed_in["errors"] == [] and signed_in["accessToken"]
    refreshed = (await api(REFRESH, {"token": refresh_token})).json()
    assert refreshed["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_reset_ends_the_access_tokens_issued_before_it(connection, api, make_client):
    await signed_up(api)
    user_id = await connection.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": EMAIL})
    earlier, _ = ISSUER.issue(user_id, now=datetime.now(UTC) - timedelta(seconds=5))
    assert (await viewer_as(make_client, earlier)).status_code == 200

    assert await complete(api, await reset_token(connection, api)) == []
    refused = await viewer_as(make_client, earlier)
    assert refused.status_code == 401, refused.text
    signed_in = await payload(api, LOG_IN, email=EMAIL, password=NEW_PASSWORD)
    answer = await viewer_as(make_client, signed_in["accessToken"])
    assert answer.json()["data"]["viewer"]["email"] == EMAIL


async def viewer_as(make_client, access_token: str) -> httpx.Response:
    async with make_client(BACKLOG_ENV="production") as client:
        return await client.post(
            "/graphql",
            json={"query": "{ viewer { email } }"},
            headers={"Authorization": f"Bearer {access_token}"},
        )


async def test_a_reset_token_works_once(connection, api):
    await signed_up(api)
    token = await reset_token(connection, api)
    assert await complete(api, token) == []
    replayed = await complete(api, token, password="yet another passphrase")
    assert codes(replayed) == ["NOT_FOUND"]
    assert codes((await payload(api, LOG_IN, email=EMAIL, password=NEW_PASSWORD))["errors"]) == []


async def test_an_expired_or_unknown_token_is_refused_alike(connection, api):
    await signed_up(api)
    token = await reset_token(connection, api)
    await connection.execute(
        text("UPDATE password_resets SET expires_at = now() - interval '1 minute'")
    )
    expired = await complete(api, token)
    unknown = await complete(api, "blp_" + "x" * 43)
    assert codes(expired) == codes(unknown) == ["NOT_FOUND"]
    assert expired == unknown
    assert codes((await payload(api, LOG_IN, email=EMAIL, password=PASSWORD))["errors"]) == []


async def test_a_new_request_voids_the_earlier_link(connection, api):
    await signed_up(api)
    first = await reset_token(connection, api)
    second = await reset_token(connection, api)
    assert codes(await complete(api, first)) == ["NOT_FOUND"]
    assert await complete(api, second) == []


async def test_a_password_the_rules_refuse_leaves_the_token_usable(connection, api):
    await signed_up(api)
    token = await reset_token(connection, api)
    refused = await complete(api, token, password="short")
    assert [(e["code"], e["field"]) for e in refused] == [("INVALID_INPUT", ["newPassword"])]
    assert await complete(api, token) == []


async def test_an_unknown_email_gets_the_same_answer_and_nothing_is_sent(connection, api):
    await signed_up(api)
    unknown = await payload(api, REQUEST, email="nobody-here@example.com")
    known = await payload(api, REQUEST, email=EMAIL)
    assert unknown == known == {"errors": []}
    (only,) = await outbox_emails(connection)
    assert only.payload["to"] == EMAIL
    rows = await connection.execute(text("SELECT user_id FROM password_resets"))
    assert len(list(rows)) == 1


async def test_an_account_is_sent_a_few_resets_at_most(connection, api):
    await signed_up(api)
    for _ in range(5):
        assert await payload(api, REQUEST, email=EMAIL) == {"errors": []}
    assert len(await outbox_emails(connection)) == 3  # BACKLOG_PASSWORD_RESET_EMAILS


async def test_reset_requests_spend_the_address_account_budget(make_client, connection):
    await settle_earlier_messages(connection)
    wait_out_the_window_if_it_is_ending()
    async with make_client(BACKLOG_ENV="production", BACKLOG_ACCOUNT_RATE_LIMIT="2") as client:
        answers = [
            await client.post(
                "/graphql", json={"query": REQUEST, "variables": {"email": f"x{n}@example.com"}}
            )
            for n in range(3)
        ]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
