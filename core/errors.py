"""The two ways a client is told no, each with a stable code.

- A `BacklogError` is raised: a GraphQL error with `extensions.code` (who you are, what you may
  do, malformed arguments). Anything else raised while executing is masked as "Unexpected
  error" (see `server.errors`).
- A `UserError` is returned in a mutation's payload: its input cannot be applied, and nothing
  was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar


class BacklogError(Exception):
    """Base of the errors whose message and code are part of the API."""

    code: ClassVar[str] = "BAD_REQUEST"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = {"code": self.code, **extensions}


class BadUserInputError(BacklogError):
    code = "BAD_USER_INPUT"


class NotFoundError(BacklogError):
    code = "NOT_FOUND"


class UnauthenticatedError(BacklogError):
    code = "UNAUTHENTICATED"


class ForbiddenError(BacklogError):
    """The viewer is known but their credential may not do this (a read-only token writing).
    Never used for objects the viewer cannot see: those are NOT_FOUND."""

    code = "FORBIDDEN"


class CostLimitExceededError(BacklogError):
    """The document's response could hold more objects than the server allows
    (`extensions.cost` and `extensions.limit` say how many)."""

    code = "COST_LIMIT_EXCEEDED"


class RateLimitedError(BacklogError):
    """The caller spent its budget for the current window (`extensions.resetAt` says when it is
    renewed); answered with HTTP 429 and `Retry-After`."""

    code = "RATE_LIMITED"


class UserErrorCode(Enum):
    """Why a mutation did not do what was asked (described for clients in `schema.user_errors`)."""

    INVALID_INPUT = "INVALID_INPUT"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    THROTTLED = "THROTTLED"
    NOT_FOUND = "NOT_FOUND"
    SLUG_TAKEN = "SLUG_TAKEN"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    LAST_OWNER = "LAST_OWNER"
    CONFLICT = "CONFLICT"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    CYCLE = "CYCLE"
    NOT_A_MEMBER = "NOT_A_MEMBER"
    KEY_TAKEN = "KEY_TAKEN"
    NAME_TAKEN = "NAME_TAKEN"
    ARCHIVED = "ARCHIVED"
    STATE_IN_USE = "STATE_IN_USE"
    LAST_STATE = "LAST_STATE"
    TOO_MANY = "TOO_MANY"


@dataclass(frozen=True, slots=True)
class UserError:
    code: UserErrorCode
    field: list[str] | None
    """Path of the input field at fault, e.g. `["labelIds", "2"]`."""
    message: str


def user_error(code: UserErrorCode, message: str, *field: str) -> UserError:
    return UserError(code=code, field=list(field) or None, message=message)
