"""Errors a client is meant to see, each with a stable `extensions.code`.

Anything else raised while executing is masked as "Unexpected error" (see `server.errors`).
"""

from __future__ import annotations

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
