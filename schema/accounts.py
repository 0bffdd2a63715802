"""Accounts and credentials: sign-up, sign-in, token rotation, personal API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry

from schema import refs
from schema.enums import TokenScope
from schema.node import Node, to_global_id
from schema.user_errors import UserError

if TYPE_CHECKING:
    from sqlalchemy import Row


@strawberry.type(description="A personal API token (its secret is shown only when created).")
class ApiToken(Node):
    pk: strawberry.Private[int]
    name: str
    scope: TokenScope
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: Row[Any]) -> ApiToken:
        return cls(
            id=to_global_id("ApiToken", row.id),
            pk=row.id,
            name=row.name,
            scope=row.scope,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
        )


@strawberry.input
class SignUpInput:
    email: str
    password: str = strawberry.field(description="At least 10 characters.")
    name: str


@strawberry.input
class LogInInput:
    email: str
    password: str


@strawberry.input
class TokenRefreshInput:
    refresh_token: str


@strawberry.input
class LogOutInput:
    refresh_token: str


@strawberry.input
class PasswordChangeInput:
    current_password: str
    new_password: str


@strawberry.input
class ApiTokenCreateInput:
    name: str
    scope: TokenScope
    expires_at: datetime | None = strawberry.field(
        default=None, description="When it stops working; never, if omitted."
    )


@strawberry.input
class ApiTokenRevokeInput:
    id: strawberry.ID


@strawberry.type(description="A signed-in session: a short-lived access token and its refresh.")
class AuthPayload:
    viewer: refs.User | None = None
    access_token: str | None = strawberry.field(
        default=None, description="Send as `Authorization: Bearer <accessToken>`."
    )
    access_token_expires_at: datetime | None = None
    refresh_token: str | None = strawberry.field(
        default=None,
        description="Exchange with `tokenRefresh` for a new pair; each works once.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LogOutPayload:
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PasswordChangePayload:
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiTokenCreatePayload:
    api_token: ApiToken | None = None
    secret: str | None = strawberry.field(
        default=None, description="The token itself, shown this once and never again."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiTokenRevokePayload:
    api_token: ApiToken | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
