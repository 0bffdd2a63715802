"""A token signed with the server's own key but with odd claims is refused with 401 before
anything runs, as any bad credential is: never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from auth.tokens import ALGORITHM
from tests.support.actors import TEST_JWT_SECRET


def signed(**overrides: object) -> str:
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, object] = {
        "iss": "backlog",
        "aud": "backlog-api",
        "sub": "1",
        "iat": now,
        "nbf": now,
        "exp": now + int(timedelta(minutes=5).total_seconds()),
        "jti": "odd",
    }
    claims.update(overrides)
    return jwt.encode(claims, TEST_JWT_SECRET, algorithm=ALGORITHM)


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "²"},
        {"sub": "12345678901234567890"},
        {"sub": "9" * 5000},
        {"exp": str(int(datetime.now(UTC).timestamp()) + 300)},
    ],
    ids=["unicode-digit", "20-digits", "5000-digits", "string-exp"],
)
async def test_odd_claims_are_unauthenticated(make_client, statements, claims):
    async with make_client(BACKLOG_ENV="production") as client:
        response = await client.post(
            "/graphql",
            json={"query": "{ viewer { id } }"},
            headers={"authorization": f"Bearer {signed(**claims)}"},
        )
    assert response.status_code == 401
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAUTHENTICATED"]
    assert statements.count == 0
