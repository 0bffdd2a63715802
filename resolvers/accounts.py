"""Accounts and credentials: sign-up, sign-in, token rotation, passwords and personal API
tokens, each run by `resolvers.mutations.perform`. Input problems come back as `UserError`s in
the payload, with nothing written (or only what throttling and reuse detection need)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from auth import passwords, policies, tokens
from core.errors import UnauthenticatedError, UserErrorCode, user_error
from core.ids import pk_of
from db import accounts as credentials
from db import outbox
from resolvers import mail
from resolvers.inputs import MAX_DISPLAY_NAME, MAX_NAME, email_errors
from resolvers.mutations import Access, Done, Journal, Outcome, Returns, perform

if TYPE_CHECKING:
    from collections.abc import Sequence

    from db.outbox import NewMessage
    from resolvers.context import Context

WRONG_CREDENTIALS = "The email or the password is not right."
INVALID_REFRESH = "The refresh token is invalid, expired or revoked."
INVALID_RESET = "This password reset link is invalid, used or expired; ask for a new one."
PASSWORD_RESET_PREFIX = "blp_"
# No input here takes an idempotency key: a retried sign-in signs in again, and a token is
# shown once, so a retry could not return it.
NO_REPLAY = Returns()


async def sign_up(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        email, name = input.email.strip(), input.name.strip()
        errors = email_errors(email, "email")
        if problem := passwords.password_problem(input.password):
            errors.append(user_error(UserErrorCode.INVALID_INPUT, problem, "password"))
        if not 0 < len(name) <= MAX_DISPLAY_NAME:
            errors.append(
                user_error(
                    UserErrorCode.INVALID_INPUT, f"Use 1 to {MAX_DISPLAY_NAME} characters.", "name"
                )
            )
        if errors:
            return Done(Outcome(errors))
        password_hash = await asyncio.to_thread(passwords.hash_password, input.password)
        row = await context.db.fetch_one(
            credentials.insert_user(),
            {"email": email, "name": name, "password_hash": password_hash},
        )
        if row is None:
            taken = user_error(UserErrorCode.EMAIL_TAKEN, "That email has an account.", "email")
            return Done(Outcome([taken]))
        return Done(await _signed_in(context, row.id))

    return await perform(context, "signUp", input, NO_REPLAY, run, access=Access.ANYONE)


async def log_in(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        db, settings = context.db, context.settings
        email = input.email.strip().lower()
        address = context.client_address
        since = datetime.now(UTC) - timedelta(minutes=settings.sign_in_throttle_minutes)
        # Held until this request commits: the count below cannot go stale during the check.
        await db.fetch_all(credentials.lock_sign_in(), {"email": email, "client_address": address})
        recent = await db.fetch_row(
            credentials.recent_failures(),
            {"email": email, "client_address": address, "since": since},
        )
        if (
            recent.for_email >= settings.sign_in_failures_per_account
            or recent.for_address >= settings.sign_in_failures_per_address
        ):
            # Said the same way whether or not the email has an account.
            throttled = user_error(UserErrorCode.THROTTLED, "Too many failed sign-ins; try later.")
            return Done(Outcome([throttled]))
        user = await db.fetch_one(credentials.user_by_email(), {"email": email})
        known_hash = user.password_hash if user else None
        if not await asyncio.to_thread(passwords.verify_password, known_hash, input.password):
            failure = {"email": email, "client_address": address}
            await db.fetch_all(credentials.insert_failure(), failure)
            # The table keeps only what still counts: each failure sweeps its own email and
            # address.
            await db.fetch_all(credentials.forget_old_failures(), {**failure, "since": since})
            wrong = user_error(UserErrorCode.INVALID_CREDENTIALS, WRONG_CREDENTIALS)
            return Done(Outcome([wrong]), keep_writes=True)
        assert user is not None  # an unknown email verifies against no hash
        await db.fetch_all(credentials.forget_failures(), {"email": email})
        return Done(await _signed_in(context, user.id))

    return await perform(context, "logIn", input, NO_REPLAY, run, access=Access.ANYONE)


async def token_refresh(context: Context, input: Any) -> Outcome:
    """Rotates the token. A token used twice means it leaked: its whole family is revoked
    (RFC 9700), and the revocation is committed even though this request fails."""

    async def run(journal: Journal) -> Done:
        db = context.db
        token_hash = tokens.secret_hash(input.refresh_token)
        owner = await db.scalar(credentials.refresh_token_owner(), {"token_hash": token_hash})
        if owner is None:
            raise UnauthenticatedError(INVALID_REFRESH)
        await db.fetch_all(credentials.lock_user_credentials(), {"user_id": owner})
        used = await db.fetch_one(credentials.use_refresh_token(), {"token_hash": token_hash})
        if used is None:
            known = await db.fetch_row(
                credentials.refresh_token_family(), {"token_hash": token_hash}
            )
            await db.fetch_all(credentials.revoke_family(), {"family_id": known.family_id})
            return Done(
                Outcome(), keep_writes=True, fail_with=UnauthenticatedError(INVALID_REFRESH)
            )
        return Done(await _signed_in(context, used.user_id, family_id=used.family_id))

    return await perform(context, "tokenRefresh", input, NO_REPLAY, run, access=Access.ANYONE)


async def log_out(context: Context, input: Any) -> Outcome:
    """Ends the session the refresh token belongs to (every token of its family)."""

    async def run(journal: Journal) -> Done:
        db = context.db
        known = await db.fetch_one(
            credentials.refresh_token_family(),
            {"token_hash": tokens.secret_hash(input.refresh_token)},
        )
        if known is not None:
            # After any refresh of this user in flight, so the token it makes is revoked too.
            await db.fetch_all(credentials.lock_user_credentials(), {"user_id": known.user_id})
            await db.fetch_all(credentials.revoke_family(), {"family_id": known.family_id})
        return Done(Outcome())

    return await perform(context, "logOut", input, NO_REPLAY, run, access=Access.ANYONE)


async def password_change(context: Context, input: Any) -> Outcome:
    """Also signs out every session (refresh token) of the account."""

    async def run(journal: Journal) -> Done:
        db, user_id = context.db, journal.actor_id
        await db.fetch_all(credentials.lock_user_credentials(), {"user_id": user_id})
        row = await db.fetch_one(credentials.user_password(), {"user_id": user_id})
        current_hash = row.password_hash if row else None
        if not await asyncio.to_thread(
            passwords.verify_password, current_hash, input.current_password
        ):
            wrong = user_error(
                UserErrorCode.INVALID_CREDENTIALS,
                "The current password is not right.",
                "currentPassword",
            )
            return Done(Outcome([wrong]))
        if problem := passwords.password_problem(input.new_password):
            return Done(Outcome([user_error(UserErrorCode.INVALID_INPUT, problem, "newPassword")]))
        new_hash = await asyncio.to_thread(passwords.hash_password, input.new_password)
        await db.fetch_all(
            credentials.set_password(), {"user_id": user_id, "password_hash": new_hash}
        )
        await db.fetch_all(credentials.revoke_user_refresh_tokens(), {"user_id": user_id})
        return Done(Outcome())

    return await perform(
        context, "passwordChange", input, NO_REPLAY, run, access=Access.CREDENTIAL_OWNER
    )


async def password_reset_request(context: Context, input: Any) -> Outcome:
    """Emails a link to reset the password to the account of `input.email`, if there is one.
    The answer is the same either way, after the same statements (only the email's enqueueing
    is extra), and an account is sent at most `password_reset_emails` resets per
    `password_reset_minutes`: asking again answers the same and sends nothing."""

    async def run(journal: Journal) -> Done:
        db, settings = context.db, context.settings
        email = input.email.strip()
        if errors := email_errors(email, "email"):
            return Done(Outcome(errors))
        email = email.lower()
        token = tokens.new_secret(PASSWORD_RESET_PREFIX)
        await db.fetch_all(credentials.lock_password_reset(), {"email": email})
        account = await db.fetch_one(
            credentials.start_password_reset(),
            {
                "email": email,
                "token_hash": tokens.secret_hash(token),
                "minutes": settings.password_reset_minutes,
                "most": settings.password_reset_emails,
            },
        )
        if account is not None:
            await outbox.enqueue(db, [_password_reset_email(context, account, token)])
        return Done(Outcome())

    return await perform(
        context, "passwordResetRequest", input, NO_REPLAY, run, access=Access.ANYONE
    )


async def password_reset_complete(context: Context, input: Any) -> Outcome:
    """Sets a new password with the token a reset email carried (once, before it expires),
    and signs out every session of the account. It does not sign in: the new password does."""

    async def run(journal: Journal) -> Done:
        db = context.db
        # Checked first: a password the rules refuse does not use the token up.
        if problem := passwords.password_problem(input.new_password):
            return Done(Outcome([user_error(UserErrorCode.INVALID_INPUT, problem, "newPassword")]))
        user_id = await db.scalar(
            credentials.use_password_reset(), {"token_hash": tokens.secret_hash(input.token)}
        )
        if user_id is None:
            # Unknown, used or expired: said the same way.
            invalid = user_error(UserErrorCode.NOT_FOUND, INVALID_RESET, "token")
            return Done(Outcome([invalid]))
        new_hash = await asyncio.to_thread(passwords.hash_password, input.new_password)
        await db.fetch_all(credentials.lock_user_credentials(), {"user_id": user_id})
        await db.fetch_all(
            credentials.set_password(), {"user_id": user_id, "password_hash": new_hash}
        )
        await db.fetch_all(credentials.revoke_user_refresh_tokens(), {"user_id": user_id})
        await db.fetch_all(
            credentials.end_access_tokens(), {"user_id": user_id, "at": int(time.time())}
        )
        await db.fetch_all(credentials.expire_password_resets(), {"user_id": user_id})
        return Done(Outcome())

    return await perform(
        context, "passwordResetComplete", input, NO_REPLAY, run, access=Access.ANYONE
    )


def _password_reset_email(context: Context, account: Any, token: str) -> NewMessage:
    minutes = context.settings.password_reset_minutes
    lifetime = f"{minutes // 60} hour" if minutes % 60 == 0 else f"{minutes} minute"
    if minutes not in (1, 60):
        lifetime += "s"
    return mail.link_email(
        account.email,
        "Reset your Backlog password",
        [
            f"Hello {mail.one_line(account.name)},",
            "Someone (hopefully you) asked to reset the password of your Backlog account. "
            f"The link below works once, within {lifetime}; using it signs out every session "
            "of the account.",
        ],
        action="Choose a new password",
        link=mail.app_link(context.settings.app_url, "/reset-password", token=token),
        footer="Did not ask for this? Ignore this email: your password stays as it is.",
        purpose="password_reset",
    )


async def api_token_create(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        name, expires_at = input.name.strip(), input.expires_at
        if not 0 < len(name) <= MAX_NAME:
            return Done(
                Outcome(
                    [
                        user_error(
                            UserErrorCode.INVALID_INPUT, f"Use 1 to {MAX_NAME} characters.", "name"
                        )
                    ]
                )
            )
        if expires_at is not None and (
            expires_at.tzinfo is None or expires_at <= datetime.now(UTC)
        ):
            past = user_error(
                UserErrorCode.INVALID_INPUT,
                "Give a future time with its UTC offset.",
                "expiresAt",
            )
            return Done(Outcome([past]))
        secret = tokens.new_secret(tokens.API_TOKEN_PREFIX)
        row = await context.db.fetch_one(
            credentials.insert_api_token(),
            {
                "user_id": journal.actor_id,
                "name": name,
                "scope": input.scope,
                "token_hash": tokens.secret_hash(secret),
                "expires_at": expires_at,
            },
        )
        return Done(Outcome(api_token=row, secret=secret))

    return await perform(
        context, "apiTokenCreate", input, NO_REPLAY, run, access=Access.CREDENTIAL_OWNER
    )


async def api_token_revoke(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        token_pk = pk_of(input.id, "ApiToken")
        row = None
        if token_pk is not None:
            row = await context.db.fetch_one(
                credentials.revoke_api_token(), {"token_id": token_pk, "user_id": journal.actor_id}
            )
        if row is None:
            missing = user_error(UserErrorCode.NOT_FOUND, "No such API token.", "id")
            return Done(Outcome([missing]))
        return Done(Outcome(api_token=row))

    return await perform(
        context, "apiTokenRevoke", input, NO_REPLAY, run, access=Access.CREDENTIAL_OWNER
    )


async def api_tokens_of(context: Context, user_id: int) -> Sequence[Any] | None:
    """A user's live tokens: only for that user themself (null for anyone else)."""
    if not policies.can_see_api_tokens(context.viewer, user_id):
        return None
    return await context.db.fetch_all(credentials.api_tokens_of_user(), {"user_id": user_id})


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
    return Outcome(
        viewer=user,
        access_token=access,
        access_token_expires_at=expires,
        refresh_token=refresh,
    )
