"""Access tokens (short-lived JWTs) and opaque secrets (refresh and personal API tokens).

Access tokens are HS256 JWTs with `iss`, `aud`, `sub`, `exp`, `iat`, `nbf` and `jti`. The server
alone fixes the algorithm: a token's own `alg` header never chooses how it is checked, so `none`
and a public-key/secret confusion are refused like any other bad signature.

Refresh and API tokens are 256-bit random strings with a readable prefix; only their SHA-256
is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("iss", "aud", "sub", "exp", "iat", "nbf", "jti")
TIME_CLAIMS = ("exp", "iat", "nbf")
MAX_USER_ID = 2**63 - 1
REFRESH_PREFIX = "blr_"
API_TOKEN_PREFIX = "blk_"
MIN_SECRET_BYTES = 32


class InvalidTokenError(Exception):
    """A credential that is malformed, forged, expired or revoked (the reason is for logs)."""


@dataclass(frozen=True, slots=True)
class AccessTokenIssuer:
    secret: str
    issuer: str
    audience: str
    lifetime: timedelta

    def __post_init__(self) -> None:
        if len(self.secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"The JWT secret must be at least {MIN_SECRET_BYTES} bytes.")

    def issue(self, user_id: int, *, now: datetime | None = None) -> tuple[str, datetime]:
        """A signed token for `user_id`, and when it expires."""
        now = now or datetime.now(UTC)
        expires = now + self.lifetime
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "iat": now,
            "nbf": now,
            "exp": expires,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM), expires

    def user_id_of(self, token: str) -> int:
        """The user a valid token was issued to; InvalidTokenError otherwise."""
        return _user_id(self._claims(token)["sub"])

    def subject_of(self, token: str) -> tuple[int, float]:
        """The user a valid token was issued to and when (Unix seconds); InvalidTokenError
        otherwise."""
        claims = self._claims(token)
        return _user_id(claims["sub"]), float(claims["iat"])

    def expiry_of(self, token: str) -> datetime:
        """When a valid token expires; InvalidTokenError if it is not valid now."""
        return datetime.fromtimestamp(self._claims(token)["exp"], UTC)

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWTError as error:
            raise InvalidTokenError(type(error).__name__) from error
        # RFC 7519: a NumericDate is a JSON number; PyJWT also takes a numeric string.
        for claim in TIME_CLAIMS:
            value = claims[claim]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidTokenError(f"{claim} is not a NumericDate")
        return claims


def _user_id(subject: object) -> int:
    """The user id a `sub` claim names: digits as `issue` writes them, within PostgreSQL's
    bigint. Anything else (other Unicode digits, leading zeros, a number too large for the
    column or for int() itself) is an invalid token, not a crash further on."""
    if not isinstance(subject, str) or not 0 < len(subject) <= len(str(MAX_USER_ID)):
        raise InvalidTokenError("subject is not a user id")
    if not (subject.isascii() and subject.isdigit()) or subject != str(int(subject)):
        raise InvalidTokenError("subject is not a user id")
    user_id = int(subject)
    if not 0 < user_id <= MAX_USER_ID:
        raise InvalidTokenError("subject is not a user id")
    return user_id


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_family_id() -> str:
    return uuid.uuid4().hex


# Unsubscribe links (`/unsubscribe?token=...`, RFC 8058) carry `<user id>.<kind>.<MAC>`: an
# HMAC-SHA256 of the user id and kind under a key derived from the access-token secret (so no
# new secret to configure, and one rotation of it voids every old link as well). They do not
# expire: a link in a years-old email still unsubscribes, as mail clients expect.

_UNSUBSCRIBE_KEY_LABEL = b"backlog unsubscribe link v1"


def _unsubscribe_mac(secret: str, user_id: int, kind: str) -> str:
    key = hmac.new(secret.encode(), _UNSUBSCRIBE_KEY_LABEL, hashlib.sha256).digest()
    mac = hmac.new(key, f"{user_id}.{kind}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def unsubscribe_token(secret: str, user_id: int, kind: str) -> str:
    """The token of the link that turns off `user_id`'s emails of `kind`."""
    return f"{user_id}.{kind}.{_unsubscribe_mac(secret, user_id, kind)}"


def unsubscribe_claims(secret: str, token: str) -> tuple[int, str]:
    """The (user id, kind) an unsubscribe token was made for; InvalidTokenError if it was not
    made with this secret."""
    user, _, rest = token.partition(".")
    kind, _, mac = rest.partition(".")
    if not (user.isascii() and user.isdigit() and 0 < len(user) < 20 and kind and mac):
        raise InvalidTokenError("malformed unsubscribe token")
    user_id = int(user)
    if not hmac.compare_digest(mac.encode(), _unsubscribe_mac(secret, user_id, kind).encode()):
        raise InvalidTokenError("unsubscribe token with a bad signature")
    return user_id, kind
