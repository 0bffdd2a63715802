"""`UserError`: how a mutation says that its input cannot be applied (nothing was changed)."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="Why a mutation did not do what was asked.")
class UserErrorCode(Enum):
    INVALID_INPUT = "INVALID_INPUT"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    THROTTLED = "THROTTLED"
    NOT_FOUND = "NOT_FOUND"
    SLUG_TAKEN = "SLUG_TAKEN"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    LAST_OWNER = "LAST_OWNER"


@strawberry.type(description="A problem with a mutation's input; nothing was changed.")
class UserError:
    code: UserErrorCode
    field: list[str] | None = strawberry.field(description="Path of the input field at fault.")
    message: str


def user_error(code: UserErrorCode, message: str, *field: str) -> UserError:
    return UserError(code=code, field=list(field) or None, message=message)
