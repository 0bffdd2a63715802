"""The statements behind accounts and tokens (built once; values are parameters)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql

from db import models
from db.queries import (
    SCOPE_VIEWER,
    USER_COLUMNS,
    USER_WITH_EMAIL,
    api_tokens,
    column_params,
    typed_param,
    users,
)
from db.writes import advisory_locks, id_text

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Delete, Insert, Select, Table, Update


@cache
def user_by_email() -> Select[Any]:
    """Parameter `email`, lower-cased."""
    return select(users.c.id, users.c.password_hash).where(USER_WITH_EMAIL)


@cache
def user_password() -> Select[Any]:
    return select(users.c.password_hash).where(users.c.id == bindparam("user_id", type_=BigInteger))


@cache
def insert_user() -> Insert:
    """Returns no row when the email is taken (the unique index on lower(email))."""
    return (
        postgresql.insert(users)
        .values(column_params(users, "email", "name", "password_hash"))
        .on_conflict_do_nothing(index_elements=[func.lower(users.c.email)])
        .returning(users.c.id)
    )


@cache
def user_profile() -> Select[Any]:
    return select(*USER_COLUMNS).where(users.c.id == bindparam("user_id", type_=BigInteger))


@cache
def set_password() -> Update:
    return (
        update(users)
        .where(users.c.id == bindparam("user_id", type_=BigInteger))
        .values(password_hash=typed_param("password_hash", users.c.password_hash))
    )


@cache
def end_access_tokens() -> Update:
    """Every access token of `user_id` issued before the second `at` (Unix seconds) stops
    working. `at` is the server's clock, which also stamps the tokens it issues (their `iat`):
    the database's clock could be ahead or behind it. One issued within that second stays
    valid."""
    return (
        update(users)
        .where(users.c.id == bindparam("user_id", type_=BigInteger))
        .values(sessions_valid_after=func.to_timestamp(bindparam("at", type_=BigInteger)))
    )


sign_in_failures = models.table_of(models.SignInFailure)


@cache
def recent_failures() -> Select[int, int]:
    """Failed sign-ins since `since` for the email and for the client address."""
    since = bindparam("since", type_=DateTime(timezone=True))
    email = typed_param("email", sign_in_failures.c.email)
    address = typed_param("client_address", sign_in_failures.c.client_address)
    recent = sign_in_failures.c.failed_at > since
    return select(
        func.count().filter(sign_in_failures.c.email == email).label("for_email"),
        func.count().filter(sign_in_failures.c.client_address == address).label("for_address"),
    ).where(
        recent, (sign_in_failures.c.email == email) | (sign_in_failures.c.client_address == address)
    )


@cache
def insert_failure() -> Insert:
    return insert(sign_in_failures).values(
        column_params(sign_in_failures, "email", "client_address")
    )


@cache
def forget_failures() -> Delete:
    return delete(sign_in_failures).where(
        sign_in_failures.c.email == typed_param("email", sign_in_failures.c.email)
    )


refresh_tokens = models.table_of(models.RefreshToken)


@cache
def insert_refresh_token() -> Insert:
    return insert(refresh_tokens).values(
        column_params(refresh_tokens, "user_id", "family_id", "token_hash", "expires_at")
    )


@cache
def use_refresh_token() -> Update:
    """Marks a live token used, atomically: of two concurrent uses, one gets the row."""
    return (
        update(refresh_tokens)
        .where(
            refresh_tokens.c.token_hash == typed_param("token_hash", refresh_tokens.c.token_hash),
            refresh_tokens.c.used_at.is_(None),
            refresh_tokens.c.revoked_at.is_(None),
            refresh_tokens.c.expires_at > func.now(),
        )
        .values(used_at=func.now())
        .returning(refresh_tokens.c.user_id, refresh_tokens.c.family_id)
    )


@cache
def refresh_token_family() -> Select[Any]:
    return select(refresh_tokens.c.family_id, refresh_tokens.c.user_id).where(
        refresh_tokens.c.token_hash == typed_param("token_hash", refresh_tokens.c.token_hash)
    )


def _revoke(table: Table, *matching: ColumnElement[bool]) -> Update:
    """Revokes the credentials `matching` that are not revoked yet (an earlier revocation keeps
    its time)."""
    return (
        update(table).where(*matching, table.c.revoked_at.is_(None)).values(revoked_at=func.now())
    )


@cache
def revoke_family() -> Update:
    return _revoke(
        refresh_tokens,
        refresh_tokens.c.family_id == typed_param("family_id", refresh_tokens.c.family_id),
    )


@cache
def revoke_user_refresh_tokens() -> Update:
    return _revoke(
        refresh_tokens, refresh_tokens.c.user_id == bindparam("user_id", type_=BigInteger)
    )


API_TOKEN_COLUMNS = (
    api_tokens.c.id,
    api_tokens.c.user_id,
    api_tokens.c.name,
    api_tokens.c.scope,
    api_tokens.c.created_at,
    api_tokens.c.expires_at,
    api_tokens.c.revoked_at,
)


@cache
def insert_api_token() -> Insert:
    values = column_params(api_tokens, "user_id", "name", "scope", "token_hash", "expires_at")
    return insert(api_tokens).values(values).returning(*API_TOKEN_COLUMNS)


@cache
def revoke_api_token() -> Update:
    """Only the owner's own live token: anyone else's id matches nothing."""
    return _revoke(
        api_tokens,
        api_tokens.c.id == bindparam("token_id", type_=BigInteger),
        api_tokens.c.user_id == bindparam("user_id", type_=BigInteger),
    ).returning(*API_TOKEN_COLUMNS)


@cache
def api_tokens_of_user() -> Select[Any]:
    """The live tokens of `user_id`, newest first."""
    return (
        select(*API_TOKEN_COLUMNS)
        .where(
            api_tokens.c.user_id == bindparam("user_id", type_=BigInteger),
            api_tokens.c.revoked_at.is_(None),
        )
        .order_by(api_tokens.c.created_at.desc(), api_tokens.c.id.desc())
    )


@cache
def lock_sign_in() -> Select[Any]:
    """Serializes sign-ins per email and per client address until commit, so a burst cannot
    read the same failure count and all get a password check (email first, then address:
    always the same order, so two of them never wait on each other)."""
    return advisory_locks(
        "sign-in email:" + typed_param("email", users.c.email),
        "sign-in address:" + typed_param("client_address", sign_in_failures.c.client_address),
    )


@cache
def lock_user_credentials() -> Select[Any]:
    """Serializes every change to one user's refresh tokens (refresh, sign-out, password
    change) until commit: a revocation then sees the token a concurrent refresh just made."""
    return advisory_locks("credentials of user:" + id_text(bindparam("user_id", type_=BigInteger)))


@cache
def refresh_token_owner() -> Select[Any]:
    return select(refresh_tokens.c.user_id).where(
        refresh_tokens.c.token_hash == typed_param("token_hash", refresh_tokens.c.token_hash)
    )


@cache
def forget_old_failures() -> Delete:
    """Failures of this email or address that no longer count (older than `since`)."""
    return delete(sign_in_failures).where(
        sign_in_failures.c.failed_at <= bindparam("since", type_=DateTime(timezone=True)),
        (sign_in_failures.c.email == typed_param("email", sign_in_failures.c.email))
        | (
            sign_in_failures.c.client_address
            == typed_param("client_address", sign_in_failures.c.client_address)
        ),
    )


@cache
def visible_api_tokens() -> Select[Any]:
    """The viewer's own API tokens, revoked ones too (`revokedAt` says so): nobody else's."""
    return select(*API_TOKEN_COLUMNS).where(api_tokens.c.user_id == SCOPE_VIEWER)


password_resets = models.table_of(models.PasswordReset)

_LIVE_RESET = (password_resets.c.used_at.is_(None), password_resets.c.expires_at > func.now())
"""A reset neither used nor expired: the only kind that may still set a password."""


def _expire_live_resets(of_user: ColumnElement[bool]) -> Update:
    """The live resets of the account(s) `of_user` expire now."""
    return update(password_resets).where(of_user, *_LIVE_RESET).values(expires_at=func.now())


@cache
def lock_password_reset() -> Select[Any]:
    """Serializes the reset requests of one email (lower-cased) until commit: the count of
    recent resets `start_password_reset` reads cannot go stale meanwhile."""
    return advisory_locks("password reset:" + typed_param("email", users.c.email))


@cache
def start_password_reset() -> Select[Any]:
    """For the account of `email` (lower-cased), unless it was sent `most` resets in the last
    `minutes`: expires its live resets and inserts one of `token_hash`, live for `minutes`.
    Returns the account's name and email, or no row (no such account, or too many resets).
    The same one statement whether or not the account exists."""
    minutes = func.make_interval(0, 0, 0, 0, 0, bindparam("minutes", type_=Integer))
    target = select(users.c.id, users.c.name, users.c.email).where(USER_WITH_EMAIL).cte("target")
    recent = (
        select(func.count())
        .where(
            password_resets.c.user_id == target.c.id,
            password_resets.c.created_at > func.now() - minutes,
        )
        .scalar_subquery()
    )
    allowed = (
        select(target.c.id, target.c.name, target.c.email)
        .where(recent < bindparam("most", type_=Integer))
        .cte("allowed")
    )
    of_allowed = password_resets.c.user_id.in_(select(allowed.c.id))
    expired = _expire_live_resets(of_allowed).cte("expired")
    inserted = (
        insert(password_resets)
        .from_select(
            ["user_id", "token_hash", "expires_at"],
            select(
                allowed.c.id,
                typed_param("token_hash", password_resets.c.token_hash),
                func.now() + minutes,
            ),
        )
        .returning(password_resets.c.user_id)
        .cte("inserted")
    )
    return (
        select(allowed.c.name, allowed.c.email)
        .join(inserted, inserted.c.user_id == allowed.c.id)
        .add_cte(expired)
    )


@cache
def use_password_reset() -> Update:
    """Marks a live reset used, atomically (of two concurrent uses, one gets the row);
    returns its user's id."""
    return (
        update(password_resets)
        .where(
            password_resets.c.token_hash == typed_param("token_hash", password_resets.c.token_hash),
            *_LIVE_RESET,
        )
        .values(used_at=func.now())
        .returning(password_resets.c.user_id)
    )


@cache
def expire_password_resets() -> Update:
    """Every live reset of `user_id`: one password reset ends the others."""
    return _expire_live_resets(password_resets.c.user_id == bindparam("user_id", type_=BigInteger))
