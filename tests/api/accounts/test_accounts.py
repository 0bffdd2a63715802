"""Accounts and credentials: sign-up, sign-in, refresh rotation, sign-out, passwords, API tokens.

The app runs in production mode here: a request without credentials is anonymous, so every
identity below comes from the token the test sends.
"""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text

from tests.support.actors import TEST_JWT_SECRET
from tests.support.graphql import refused

PASSWORD = "correct horse battery"
DEMO_PASSWORD = "backlog-demo"

Call = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
async def api(make_client) -> AsyncIterator[Call]:
    """POST a document to a production-mode app, with an optional bearer token."""
    async with make_client(BACKLOG_ENV="production") as client:

        async def call(
            query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
        ) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )

        yield call


SIGN_UP = """mutation ($input: SignUpInput!) { signUp(input: $input) {
  viewer { email name } accessToken accessTokenExpiresAt refreshToken
  errors { code field message } } }"""
LOG_IN = """mutation ($email: String!, $password: String!) {
  logIn(input: {email: $email, password: $password}) {
    viewer { email } accessToken refreshToken errors { code field message } } }"""
REFRESH = """mutation ($token: String!) { tokenRefresh(input: {refreshToken: $token}) {
  accessToken refreshToken errors { code } } }"""
VIEWER = "{ viewer { email } }"


async def sign_up(api: Call, email: str = "new@example.com", **extra: str) -> dict[str, Any]:
    values = {"email": email, "password": PASSWORD, "name": "New Person", **extra}
    return (await api(SIGN_UP, {"input": values})).json()["data"]["signUp"]


async def log_in(api: Call, email: str, password: str) -> dict[str, Any]:
    return (await api(LOG_IN, {"email": email, "password": password})).json()["data"]["logIn"]


async def viewer_email(api: Call, token: str | None) -> str | None:
    body = (await api(VIEWER, token=token)).json()
    return (body["data"]["viewer"] or {}).get("email")


def unauthenticated(response: httpx.Response) -> bool:
    """Refused credentials in the Authorization header: 401 before anything executes."""
    body = response.json()
    return (
        response.status_code == 401
        and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        and "data" not in body
    )


async def test_sign_up_signs_in_and_the_access_token_names_the_viewer(api):
    signed = await sign_up(api)

    assert signed["errors"] == []
    assert signed["viewer"] == {"email": "new@example.com", "name": "New Person"}
    assert signed["refreshToken"].startswith("blr_")
    assert await viewer_email(api, signed["accessToken"]) == "new@example.com"
    assert await viewer_email(api, None) is None  # production: no credentials, anonymous


async def test_sign_up_refuses_a_taken_email_whatever_its_case(api, connection):
    await sign_up(api)
    again = await sign_up(api, email="NEW@Example.com")

    assert again["accessToken"] is None
    assert [e["code"] for e in again["errors"]] == ["EMAIL_TAKEN"]
    count = await connection.scalar(
        text("SELECT count(*) FROM users WHERE lower(email) = 'new@example.com'")
    )
    assert count == 1


async def test_sign_up_reports_every_bad_field_and_writes_nothing(api, connection):
    before = await connection.scalar(text("SELECT count(*) FROM users"))
    refused = await sign_up(api, email="not-an-email", password="short", name="  ")

    assert {e["field"][0] for e in refused["errors"]} == {"email", "password", "name"}
    assert {e["code"] for e in refused["errors"]} == {"INVALID_INPUT"}
    assert await connection.scalar(text("SELECT count(*) FROM users")) == before


@pytest.mark.parametrize(
    "email",
    [
        "a:;@x.com",
        "(c)@x.com",
        "<>@x.com",
        "a;b@x.com",
        "x@y.com>",
        "a@b",
        "a b@x.com",
    ],
)
async def test_an_address_mail_would_read_another_way_is_refused(api, email):
    """Such an address could not be sent to as written (a mail server would deliver it
    elsewhere, or refuse the whole email)."""
    refused = await sign_up(api, email=email)
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", ["email"])]


async def test_passwords_are_stored_as_argon2id_never_as_given(api, connection):
    await sign_up(api)
    stored = await connection.scalar(
        text("SELECT password_hash FROM users WHERE email = 'new@example.com'")
    )

    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(api):
    wrong = await log_in(api, "demo@backlog.dev", "not the password")
    unknown = await log_in(api, "nobody@example.com", "not the password")

    assert wrong == unknown
    assert wrong["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_log_in_with_the_right_password(api):
    signed = await log_in(api, "Demo@Backlog.dev", DEMO_PASSWORD)

    assert signed["errors"] == []
    assert await viewer_email(api, signed["accessToken"]) == "demo@backlog.dev"


async def test_failed_sign_ins_are_throttled_per_account_even_for_unknown_emails(
    make_client, connection
):
    # Other tests' servers commit failures too: count this test's.
    stored_before = await connection.scalar(text("SELECT count(*) FROM sign_in_failures"))
    # Twelve sign-ins from one address: more than its rate limit allows (test_rate_limits.py),
    # which is not what this counts.
    async with make_client(BACKLOG_ENV="production", BACKLOG_ACCOUNT_RATE_LIMIT="0") as client:

        async def api(query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
            return await client.post("/graphql", json={"query": query, "variables": variables})

        for email in ("demo@backlog.dev", "nobody@example.com"):
            for _ in range(5):
                await log_in(api, email, "guess")
            throttled = await log_in(api, email, DEMO_PASSWORD)
            assert [e["code"] for e in throttled["errors"]] == ["THROTTLED"]
            assert throttled["accessToken"] is None
    stored = await connection.scalar(text("SELECT count(*) FROM sign_in_failures"))
    assert stored - stored_before == 10


async def test_failed_sign_ins_are_throttled_per_client_address(make_client):
    async with make_client(
        BACKLOG_ENV="production", BACKLOG_SIGN_IN_FAILURES_PER_ADDRESS=3
    ) as client:
        for number in range(3):
            await client.post(
                "/graphql",
                json={"query": LOG_IN, "variables": {"email": f"a{number}@x.dev", "password": "x"}},
            )
        response = await client.post(
            "/graphql",
            json={
                "query": LOG_IN,
                "variables": {"email": "demo@backlog.dev", "password": DEMO_PASSWORD},
            },
        )
    assert response.json()["data"]["logIn"]["errors"][0]["code"] == "THROTTLED"


async def test_a_refresh_token_rotates(api):
    first = await log_in(api, "demo@backlog.dev", DEMO_PASSWORD)
    second = (await api(REFRESH, {"token": first["refreshToken"]})).json()["data"]["tokenRefresh"]

    assert second["refreshToken"] != first["refreshToken"]
    assert await viewer_email(api, second["accessToken"]) == "demo@backlog.dev"
    third = (await api(REFRESH, {"token": second["refreshToken"]})).json()["data"]["tokenRefresh"]
    assert third["accessToken"]


async def test_replaying_a_rotated_refresh_token_revokes_its_whole_family(api, connection):
    first = await log_in(api, "demo@backlog.dev", DEMO_PASSWORD)
    other_session = await log_in(api, "demo@backlog.dev", DEMO_PASSWORD)
    second = (await api(REFRESH, {"token": first["refreshToken"]})).json()["data"]["tokenRefresh"]

    replay = await api(REFRESH, {"token": first["refreshToken"]})
    assert refused(replay, code="UNAUTHENTICATED")
    # The thief's or the owner's newer token is gone too; the other sign-in is untouched.
    assert refused(await api(REFRESH, {"token": second["refreshToken"]}), code="UNAUTHENTICATED")
    assert (await api(REFRESH, {"token": other_session["refreshToken"]})).status_code == 200
    revoked = await connection.scalar(
        text("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NOT NULL")
    )
    assert revoked == 2


async def test_unknown_refresh_tokens_are_unauthenticated(api):
    assert refused(await api(REFRESH, {"token": "blr_made-up"}), code="UNAUTHENTICATED")


async def test_log_out_ends_the_session(api):
    signed = await log_in(api, "demo@backlog.dev", DEMO_PASSWORD)
    out = await api(
        "mutation ($t: String!) { logOut(input: {refreshToken: $t}) { errors { code } } }",
        {"t": signed["refreshToken"]},
    )

    assert out.json()["data"]["logOut"]["errors"] == []
    assert refused(await api(REFRESH, {"token": signed["refreshToken"]}), code="UNAUTHENTICATED")


PASSWORD_CHANGE = """mutation ($current: String!, $new: String!) {
  passwordChange(input: {currentPassword: $current, newPassword: $new}) {
    errors { code field } } }"""


async def test_password_change_needs_the_current_password_and_signs_out_sessions(api):
    signed = await log_in(api, "demo@backlog.dev", DEMO_PASSWORD)
    token = signed["accessToken"]

    wrong = await api(PASSWORD_CHANGE, {"current": "nope", "new": PASSWORD}, token=token)
    assert wrong.json()["data"]["passwordChange"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    changed = await api(PASSWORD_CHANGE, {"current": DEMO_PASSWORD, "new": PASSWORD}, token=token)
    assert changed.json()["data"]["passwordChange"]["errors"] == []

    assert refused(await api(REFRESH, {"token": signed["refreshToken"]}), code="UNAUTHENTICATED")
    assert (await log_in(api, "demo@backlog.dev", DEMO_PASSWORD))["errors"][0]["code"] == (
        "INVALID_CREDENTIALS"
    )
    assert (await log_in(api, "demo@backlog.dev", PASSWORD))["errors"] == []


async def test_password_change_needs_a_signed_in_viewer(api):
    body = (await api(PASSWORD_CHANGE, {"current": DEMO_PASSWORD, "new": PASSWORD})).json()

    assert body["data"] == {"passwordChange": None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# -- personal API tokens ---------------------------------------------------------------------

TOKEN_CREATE = """mutation ($input: ApiTokenCreateInput!) { apiTokenCreate(input: $input) {
  apiToken { id name scope expiresAt } secret errors { code field } } }"""
TOKEN_REVOKE = """mutation ($id: ID!) { apiTokenRevoke(input: {id: $id}) {
  apiToken { id revokedAt } errors { code } } }"""


async def create_token(api: Call, session: str, **values: Any) -> dict[str, Any]:
    response = await api(
        TOKEN_CREATE, {"input": {"name": "ci", "scope": "READ_WRITE", **values}}, token=session
    )
    return response.json()["data"]["apiTokenCreate"]


@pytest.fixture
async def session(api) -> str:
    return (await log_in(api, "demo@backlog.dev", DEMO_PASSWORD))["accessToken"]


async def test_an_api_token_acts_as_its_owner_and_is_stored_hashed(api, session, connection):
    created = await create_token(api, session)

    assert created["secret"].startswith("blk_")
    assert await viewer_email(api, created["secret"]) == "demo@backlog.dev"
    stored = await connection.scalar(text("SELECT token_hash FROM api_tokens"))
    assert created["secret"] not in stored and len(stored) == 64


async def test_api_tokens_are_listed_for_their_owner_only(api, session):
    created = await create_token(api, session)
    ada = "VXNlcjoy"  # User:2, a member of the same workspace
    query = """query ($ada: ID!) { viewer { apiTokens { id name scope } }
        node(id: $ada) { ... on User { email apiTokens { id } } } }"""
    body = (await api(query, {"ada": ada}, token=session)).json()

    assert body["data"]["viewer"]["apiTokens"] == [
        {"id": created["apiToken"]["id"], "name": "ci", "scope": "READ_WRITE"}
    ]
    assert body["data"]["node"] == {"email": "ada@backlog.dev", "apiTokens": None}


async def test_a_read_only_token_may_query_but_not_mutate(api, session):
    read_only = (await create_token(api, session, scope="READ"))["secret"]

    assert await viewer_email(api, read_only) == "demo@backlog.dev"
    body = (
        await api(TOKEN_CREATE, {"input": {"name": "x", "scope": "READ"}}, token=read_only)
    ).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_revoked_or_expired_token_is_refused(api, session, connection):
    created = await create_token(api, session)
    revoked = await api(TOKEN_REVOKE, {"id": created["apiToken"]["id"]}, token=session)
    assert revoked.json()["data"]["apiTokenRevoke"]["apiToken"]["revokedAt"]
    assert unauthenticated(await api(VIEWER, token=created["secret"]))

    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    expiring = await create_token(api, session, expiresAt=soon)
    await connection.execute(text("UPDATE api_tokens SET expires_at = now() - interval '1 second'"))
    assert unauthenticated(await api(VIEWER, token=expiring["secret"]))


async def test_nobody_revokes_another_users_token(api, session, make_client):
    created = await create_token(api, session)
    other = (await log_in(api, "ada@backlog.dev", DEMO_PASSWORD))["accessToken"]

    attempt = await api(TOKEN_REVOKE, {"id": created["apiToken"]["id"]}, token=other)
    assert attempt.json()["data"]["apiTokenRevoke"]["errors"][0]["code"] == "NOT_FOUND"
    assert await viewer_email(api, created["secret"]) == "demo@backlog.dev"


async def test_token_expiry_must_be_in_the_future(api, session):
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    refused = await create_token(api, session, expiresAt=past)

    assert refused["secret"] is None
    assert refused["errors"][0]["field"] == ["expiresAt"]


# -- access token tampering --------------------------------------------------------------------


def claims(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base = {
        "iss": "backlog",
        "aud": "backlog-api",
        "sub": "1",
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "jti": "x",
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, default=lambda d: int(d.timestamp())).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"{part(header)}.{part(payload)}."


def hs256(payload: dict[str, Any], secret: str = TEST_JWT_SECRET, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(payload, secret, algorithm=algorithm)


async def test_a_well_formed_token_is_accepted(api):
    assert await viewer_email(api, hs256(claims())) == "demo@backlog.dev"


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda: unsigned({"alg": "none", "typ": "JWT"}, claims()), id="alg-none"),
        pytest.param(
            lambda: unsigned({"alg": "RS256", "typ": "JWT"}, claims()) + "c2ln", id="alg-rs256"
        ),
        pytest.param(lambda: hs256(claims(), algorithm="HS512"), id="other-hmac-algorithm"),
        pytest.param(
            lambda: hs256(claims(), secret="another-secret-of-at-least-32-bytes!!"), id="wrong-key"
        ),
        pytest.param(lambda: hs256(claims(aud="someone-else")), id="wrong-audience"),
        pytest.param(lambda: hs256(claims(iss="evil")), id="wrong-issuer"),
        pytest.param(
            lambda: hs256(claims(exp=datetime.now(UTC) - timedelta(seconds=1))), id="expired"
        ),
        pytest.param(
            lambda: hs256(claims(nbf=datetime.now(UTC) + timedelta(hours=1))), id="not-yet-valid"
        ),
        pytest.param(lambda: hs256(claims(jti=None)), id="missing-jti"),
        pytest.param(lambda: hs256(claims(exp=None)), id="missing-exp"),
        pytest.param(lambda: hs256(claims(sub="admin")), id="subject-not-a-user-id"),
        pytest.param(lambda: hs256(claims(sub="987654321")), id="user-gone"),
        pytest.param(lambda: "garbage", id="garbage"),
        pytest.param(lambda: "blk_unknown", id="unknown-api-token"),
    ],
)
async def test_tampered_tokens_are_refused_as_unauthenticated(api, make_token):
    assert unauthenticated(await api(VIEWER, token=make_token()))


async def test_only_bearer_credentials_are_accepted(make_client):
    async with make_client(BACKLOG_ENV="production") as client:
        response = await client.post(
            "/graphql", json={"query": VIEWER}, headers={"Authorization": "Basic ZGVtbzpkZW1v"}
        )
    assert unauthenticated(response)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_an_api_token_cannot_mint_tokens_or_change_the_password(api, session):
    token = (await create_token(api, session))["secret"]

    minted = await api(
        TOKEN_CREATE, {"input": {"name": "forever", "scope": "READ_WRITE"}}, token=token
    )
    assert minted.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    changed = await api(PASSWORD_CHANGE, {"current": DEMO_PASSWORD, "new": PASSWORD}, token=token)
    assert changed.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_failures_older_than_the_window_are_swept_and_no_longer_count(api, connection):
    await connection.execute(
        text(
            "INSERT INTO sign_in_failures (email, client_address, failed_at) "
            "SELECT 'demo@backlog.dev', 'elsewhere', now() - interval '1 hour' "
            "FROM generate_series(1, 5)"
        )
    )
    failed = await log_in(api, "demo@backlog.dev", "wrong")
    assert failed["errors"][0]["code"] == "INVALID_CREDENTIALS"  # old failures do not count
    left = await connection.scalar(
        text("SELECT count(*) FROM sign_in_failures WHERE email = 'demo@backlog.dev'")
    )
    assert left == 1
