"""Accounts and credentials (sign-up, sign-in, token rotation, personal API tokens): the
`ApiToken` type, inputs, payloads and `AccountMutations`. The `User` type is `schema.users`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import accounts as use_cases
from schema import refs
from schema.enums import TokenScope
from schema.inputs import DISPLAY_NAME, NAME, NEW_PASSWORD, id_input
from schema.mutation_field import mutation
from schema.node import Node
from schema.payloads import node_field, payload_type, scalar_field


@strawberry.type(description="A personal API token (its secret is shown only when created).")
class ApiToken(Node):
    name: str = strawberry.field(description="Its owner's label for it, to tell tokens apart.")
    scope: TokenScope = strawberry.field(description="What requests made with it may do.")
    created_at: datetime = strawberry.field(description="When it was created.")
    expires_at: datetime | None = strawberry.field(
        description="When it stops working; null if it never expires."
    )
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked, from then on refused; null while it is not."
    )


@strawberry.input(description="A new personal API token.")
class ApiTokenCreateInput:
    name: str = strawberry.field(description=f"To tell your tokens apart: {NAME}.")
    scope: TokenScope = strawberry.field(
        description="What it may do: READ for whatever only needs to read."
    )
    expires_at: datetime | None = strawberry.field(
        default=None, description="When it stops working; never, if omitted."
    )


ApiTokenRevokeInput = id_input(
    "ApiTokenRevokeInput", "The API token to revoke.", "One of the tokens in your `apiTokens`."
)


@strawberry.input(description="A new account.")
class SignUpInput:
    email: str = strawberry.field(
        description="What you sign in with; one account per email address."
    )
    password: str = strawberry.field(description=NEW_PASSWORD)
    name: str = strawberry.field(description=f"How others see you: {DISPLAY_NAME}.")


@strawberry.input(description="The credentials of an account.")
class LogInInput:
    email: str = strawberry.field(description="The email the account was created with.")
    password: str = strawberry.field(description="The account's password.")


@strawberry.input(description="The refresh token to exchange.")
class TokenRefreshInput:
    refresh_token: str = strawberry.field(
        description="The latest `refreshToken` of the session; each works once."
    )


@strawberry.input(description="The session to end.")
class LogOutInput:
    refresh_token: str = strawberry.field(
        description="A refresh token of the session: every token of that session stops working."
    )


@strawberry.input(description="Your password now, and the one to replace it.")
class PasswordChangeInput:
    current_password: str = strawberry.field(description="Your password now, to confirm it is you.")
    new_password: str = strawberry.field(description=NEW_PASSWORD)


@strawberry.input(description="The email of the account whose password to reset.")
class PasswordResetRequestInput:
    email: str = strawberry.field(description="The account's email, where the reset link is sent.")


@strawberry.input(description="The token a password reset email carried, and a new password.")
class PasswordResetCompleteInput:
    token: str = strawberry.field(description="The `token` of the reset link; it works once.")
    new_password: str = strawberry.field(description=NEW_PASSWORD)


AuthPayload = payload_type(
    "AuthPayload",
    "A signed-in session: a short-lived access token and its refresh.",
    viewer=node_field(refs.User, "The signed-in user; null when `errors` is not empty."),
    access_token=scalar_field(str, "Send as `Authorization: Bearer <accessToken>`."),
    access_token_expires_at=scalar_field(
        datetime,
        "When `accessToken` stops working: use `refreshToken` for a new one before.",
    ),
    refresh_token=scalar_field(
        str, "Exchange with `tokenRefresh` for a new pair; each works once."
    ),
)
LogOutPayload = payload_type(
    "LogOutPayload",
    "The end of a session. It has no errors: an unknown token has no session left to end.",
)
PasswordChangePayload = payload_type(
    "PasswordChangePayload",
    "Whether the password was changed (if `errors` is empty; every session was then signed out).",
)
PasswordResetRequestPayload = payload_type(
    "PasswordResetRequestPayload",
    "The request was taken (if `errors` is empty). It says the same whether or not the email "
    "has an account: if it has, a reset link is on its way there.",
)
PasswordResetCompletePayload = payload_type(
    "PasswordResetCompletePayload",
    "Whether the password was reset (if `errors` is empty; every session of the account was "
    "then signed out, and nobody is signed in: sign in with the new password).",
)
ApiTokenCreatePayload = payload_type(
    "ApiTokenCreatePayload",
    "The new API token with its secret, or why none was created.",
    api_token=node_field(ApiToken, "The token created; null when `errors` is not empty."),
    secret=scalar_field(str, "The token itself, shown this once and never again."),
)
ApiTokenRevokePayload = payload_type(
    "ApiTokenRevokePayload",
    "The revoked API token, or why it could not be revoked.",
    api_token=node_field(
        ApiToken, "The token, now with its `revokedAt`; null when `errors` is not empty."
    ),
)


@strawberry.type
class AccountMutations:
    """Sign-up, sign-in, sessions, passwords and API tokens: part of the root `Mutation`."""

    sign_up = mutation(
        use_cases.sign_up,
        SignUpInput,
        AuthPayload,
        description="Create an account and sign in.",
    )

    log_in = mutation(
        use_cases.log_in,
        LogInInput,
        AuthPayload,
        description="Sign in with email and password. Failures do not tell whether the email "
        "has an account, and repeated failures are throttled per account and per address.",
    )

    token_refresh = mutation(
        use_cases.token_refresh,
        TokenRefreshInput,
        AuthPayload,
        description="Exchange a refresh token for a new access token and refresh token. "
        "A refresh token works once; using one twice signs out its whole session.",
    )

    log_out = mutation(
        use_cases.log_out,
        LogOutInput,
        LogOutPayload,
        description="End the session a refresh token belongs to.",
    )

    password_change = mutation(
        use_cases.password_change,
        PasswordChangeInput,
        PasswordChangePayload,
        description="Change your password; every session is signed out.",
    )

    password_reset_request = mutation(
        use_cases.password_reset_request,
        PasswordResetRequestInput,
        PasswordResetRequestPayload,
        description="Email a link to reset a forgotten password (valid once, for "
        "BACKLOG_PASSWORD_RESET_MINUTES). Answers the same whether or not the email has an "
        "account; rate-limited per address, and per account.",
    )

    password_reset_complete = mutation(
        use_cases.password_reset_complete,
        PasswordResetCompleteInput,
        PasswordResetCompletePayload,
        description="Set a new password with the token of a reset link. An unknown, used or "
        "expired token is NOT_FOUND. Every session of the account is signed out.",
    )

    api_token_create = mutation(
        use_cases.api_token_create,
        ApiTokenCreateInput,
        ApiTokenCreatePayload,
        description="Create a personal API token for scripts and apps.",
    )

    api_token_revoke = mutation(
        use_cases.api_token_revoke,
        ApiTokenRevokeInput,
        ApiTokenRevokePayload,
        description="Revoke one of your personal API tokens.",
    )
