"""Accounts and credentials: each function authorizes, validates, writes, commits, and maps to
the payload types. Input problems come back as `UserError`s in the payload, with nothing written
(or only the failed sign-in that throttling needs)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from auth import passwords, policies, tokens
from core.errors import UnauthenticatedError, UserErrorCode, user_error
from core.ids import from_global_id
from db import credentials
from resolvers.guards import require_credential_owner
from resolvers.mutations import Outcome

if TYPE_CHECKING:
    from core.enums import TokenScope
    from resolvers.context import Context

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 320
MAX_NAME = 200
MAX_TOKEN_NAME = 100
WRONG_CREDENTIALS = "The email or the password is not right."
INVALID_REFRESH = "The refresh token is invalid, expired or revoked."


async def sign_up(context: Context, email: str, password: str, name: str) -> Outcome:
    email, name = email.strip(), name.strip()
    errors = []
    if len(email) > MAX_EMAIL or not EMAIL.match(email):
        errors.append(user_error(UserErrorCode.INVALID_INPUT, "Not an email address.", "email"))
    if problem := passwords.password_problem(password):
        errors.append(user_error(UserErrorCode.INVALID_INPUT, problem, "password"))
    if not 0 < len(name) <= MAX_NAME:
        errors.append(
            user_error(UserErrorCode.INVALID_INPUT, f"Use 1 to {MAX_NAME} characters.", "name")
        )
    if errors:
        return Outcome(errors=errors)
    password_hash = await asyncio.to_thread(passwords.hash_password, password)
    row = await context.db.fetch_one(
        credentials.insert_user(), {"email": email, "name": name, "password_hash": password_hash}
    )
    if row is None:
        return Outcome(
            errors=[user_error(UserErrorCode.EMAIL_TAKEN, "That email has an account.", "email")]
        )
    return await _signed_in(context, row.id)


async def log_in(context: Context, email: str, password: str) -> Outcome:
    db, settings = context.db, context.settings
    email = email.strip().lower()
    address = context.client_address
    since = datetime.now(UTC) - timedelta(minutes=settings.sign_in_throttle_minutes)
    # Held until this request commits: the count below cannot go stale during the check.
    await db.fetch_all(credentials.lock_sign_in(), {"email": email, "client_address": address})
    recent = await db.fetch_one(
        credentials.recent_failures(),
        {"email": email, "client_address": address, "since": since},
    )
    if (
        recent.for_email >= settings.sign_in_failures_per_account
        or recent.for_address >= settings.sign_in_failures_per_address
    ):
        # Said the same way whether or not the email has an account.
        return Outcome(
            errors=[user_error(UserErrorCode.THROTTLED, "Too many failed sign-ins; try later.")]
        )
    user = await db.fetch_one(credentials.user_by_email(), {"email": email})
    known_hash = user.password_hash if user else None
    if not await asyncio.to_thread(passwords.verify_password, known_hash, password):
        failure = {"email": email, "client_address": address}
        await db.fetch_all(credentials.insert_failure(), failure)
        # The table keeps only what still counts: each failure sweeps its own email and address.
        await db.fetch_all(credentials.forget_old_failures(), {**failure, "since": since})
        await db.commit()
        return Outcome(errors=[user_error(UserErrorCode.INVALID_CREDENTIALS, WRONG_CREDENTIALS)])
    await db.fetch_all(credentials.forget_failures(), {"email": email})
    return await _signed_in(context, user.id)


async def token_refresh(context: Context, refresh_token: str) -> Outcome:
    """Rotates the token. A token used twice means it leaked: its whole family is revoked
    (RFC 9700), and the revocation is committed even though this request fails."""
    db = context.db
    token_hash = tokens.secret_hash(refresh_token)
    owner = await db.scalar(credentials.refresh_token_owner(), {"token_hash": token_hash})
    if owner is None:
        raise UnauthenticatedError(INVALID_REFRESH)
    await db.fetch_all(credentials.lock_user_credentials(), {"user_id": owner})
    used = await db.fetch_one(credentials.use_refresh_token(), {"token_hash": token_hash})
    if used is None:
        known = await db.fetch_one(credentials.refresh_token_family(), {"token_hash": token_hash})
        await db.fetch_all(credentials.revoke_family(), {"family_id": known.family_id})
        await db.commit()
        raise UnauthenticatedError(INVALID_REFRESH)
    return await _signed_in(context, used.user_id, family_id=used.family_id)


async def log_out(context: Context, refresh_token: str) -> Outcome:
    """Ends the session the refresh token belongs to (every token of its family)."""
    db = context.db
    known = await db.fetch_one(
        credentials.refresh_token_family(), {"token_hash": tokens.secret_hash(refresh_token)}
    )
    if known is not None:
        # After any refresh of this user in flight, so the token it makes is revoked too.
        await db.fetch_all(credentials.lock_user_credentials(), {"user_id": known.user_id})
        await db.fetch_all(credentials.revoke_family(), {"family_id": known.family_id})
        await db.commit()
    return Outcome()


async def password_change(context: Context, current_password: str, new_password: str) -> Outcome:
    """Also signs out every session (refresh token) of the account."""
    user_id = require_credential_owner(context)
    db = context.db
    await db.fetch_all(credentials.lock_user_credentials(), {"user_id": user_id})
    row = await db.fetch_one(credentials.user_password(), {"user_id": user_id})
    current_hash = row.password_hash if row else None
    if not await asyncio.to_thread(passwords.verify_password, current_hash, current_password):
        return Outcome(
            errors=[
                user_error(
                    UserErrorCode.INVALID_CREDENTIALS,
                    "The current password is not right.",
                    "currentPassword",
                )
            ]
        )
    if problem := passwords.password_problem(new_password):
        return Outcome(errors=[user_error(UserErrorCode.INVALID_INPUT, problem, "newPassword")])
    new_hash = await asyncio.to_thread(passwords.hash_password, new_password)
    await db.fetch_all(credentials.set_password(), {"user_id": user_id, "password_hash": new_hash})
    await db.fetch_all(credentials.revoke_user_refresh_tokens(), {"user_id": user_id})
    await db.commit()
    return Outcome()


async def api_token_create(
    context: Context, name: str, scope: TokenScope, expires_at: datetime | None
) -> Outcome:
    user_id = require_credential_owner(context)
    name = name.strip()
    if not 0 < len(name) <= MAX_TOKEN_NAME:
        return Outcome(
            errors=[
                user_error(
                    UserErrorCode.INVALID_INPUT, f"Use 1 to {MAX_TOKEN_NAME} characters.", "name"
                )
            ]
        )
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= datetime.now(UTC)):
        return Outcome(
            errors=[
                user_error(
                    UserErrorCode.INVALID_INPUT,
                    "Give a future time with its UTC offset.",
                    "expiresAt",
                )
            ]
        )
    secret = tokens.new_secret(tokens.API_TOKEN_PREFIX)
    row = await context.db.fetch_one(
        credentials.insert_api_token(),
        {
            "user_id": user_id,
            "name": name,
            "scope": scope,
            "token_hash": tokens.secret_hash(secret),
            "expires_at": expires_at,
        },
    )
    await context.db.commit()
    return Outcome(api_token=row, secret=secret)


async def api_token_revoke(context: Context, token_id: str) -> Outcome:
    user_id = require_credential_owner(context)
    decoded = from_global_id(token_id)
    row = None
    if decoded is not None and decoded[0] == "ApiToken":
        row = await context.db.fetch_one(
            credentials.revoke_api_token(), {"token_id": decoded[1], "user_id": user_id}
        )
    if row is None:
        return Outcome(errors=[user_error(UserErrorCode.NOT_FOUND, "No such API token.", "id")])
    await context.db.commit()
    return Outcome(api_token=row)


async def api_tokens_of(context: Context, user_id: int) -> list[Any] | None:
    """A user's live tokens: only for that user themself (null for anyone else)."""
    if not policies.can_see_api_tokens(context.viewer, user_id):
        return None
    rows = await context.db.fetch_all(credentials.api_tokens_of_user(), {"user_id": user_id})
    return list(rows)


async def _signed_in(context: Context, user_id: int, *, family_id: str | None = None) -> Outcome:
    """A new access token and a new refresh token (in `family_id`, or a new family)."""
    settings = context.settings
    refresh = tokens.new_secret(tokens.REFRESH_PREFIX)
    await context.db.fetch_all(
        credentials.insert_refresh_token(),
        {
            "user_id": user_id,
            "family_id": family_id or tokens.new_family_id(),
            "token_hash": tokens.secret_hash(refresh),
            "expires_at": datetime.now(UTC) + timedelta(days=settings.refresh_token_days),
        },
    )
    access, expires = context.access_tokens.issue(user_id)
    user = await context.db.fetch_one(credentials.user_profile(), {"user_id": user_id})
    await context.db.commit()
    return Outcome(
        viewer=user,
        access_token=access,
        access_token_expires_at=expires,
        refresh_token=refresh,
    )
