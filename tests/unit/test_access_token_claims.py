"""Access tokens signed with the right key but odd claims are invalid tokens (a 401), never a
crash: the subject must be a user id as `issue` writes it, the times JSON numbers (RFC 7519)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from auth.tokens import ALGORITHM, AccessTokenIssuer, InvalidTokenError

SECRET = "unit-test-secret-for-access-tokens-32-bytes"
ISSUER = AccessTokenIssuer(SECRET, "backlog", "backlog-api", timedelta(minutes=15))


def token(**overrides: object) -> str:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": "backlog",
        "aud": "backlog-api",
        "sub": "7",
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "jti": "x",
    }
    claims.update(overrides)
    return jwt.encode(claims, SECRET, algorithm=ALGORITHM)


def test_a_well_formed_token_names_its_user():
    assert ISSUER.user_id_of(token()) == 7
    assert ISSUER.user_id_of(ISSUER.issue(9_223_372_036_854_775_807)[0]) == 2**63 - 1


@pytest.mark.parametrize(
    "subject",
    [
        "²",  # a Unicode digit: str.isdigit() says yes, int() says no
        "٣",  # Arabic-Indic three: int() reads it, but it is not how ids are written
        "12345678901234567890",  # 20 digits: past PostgreSQL's bigint
        "9" * 5000,  # past int()'s digit limit
        "9223372036854775808",  # 2**63
        "0",
        "007",
        "-1",
        " 7",
        "",
        7,
        None,
    ],
)
def test_an_odd_subject_is_an_invalid_token(subject):
    with pytest.raises(InvalidTokenError):
        ISSUER.user_id_of(token(sub=subject))


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("kind", ["string", "bool"])
def test_times_must_be_json_numbers(claim, kind):
    now = int(datetime.now(UTC).timestamp())
    value = {"exp": now + 300, "iat": now, "nbf": now}[claim]
    odd = str(value) if kind == "string" else True
    with pytest.raises(InvalidTokenError):
        ISSUER.user_id_of(token(**{claim: odd}))
