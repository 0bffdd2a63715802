"""Resolving a request's credentials into a `Viewer`: one statement each."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auth.tokens import API_TOKEN_PREFIX, InvalidTokenError, secret_hash
from auth.viewer import Viewer
from core.enums import Role, TokenScope
from db import queries

if TYPE_CHECKING:
    from auth.tokens import AccessTokenIssuer
    from db.session import RequestDatabase


async def viewer_by_email(db: RequestDatabase, email: str) -> Viewer:
    """The viewer for the user with this email, anonymous if there is none (development)."""
    row = await db.fetch_one(queries.viewer_identity_by_email(), {"email": email.lower()})
    return Viewer.anonymous() if row is None else _viewer(row)


async def viewer_by_user_id(db: RequestDatabase, user_id: int, issued_at: float) -> Viewer | None:
    """The viewer an access token issued at `issued_at` names; None if the account is gone,
    or its sessions ended after the token was issued (a password reset)."""
    row = await db.fetch_one(
        queries.viewer_identity_by_id(), {"user_id": user_id, "issued_at": issued_at}
    )
    return None if row is None else _viewer(row)


async def viewer_by_api_token(db: RequestDatabase, secret: str) -> Viewer | None:
    """The viewer a personal API token acts as; None if unknown, revoked or expired."""
    row = await db.fetch_one(
        queries.viewer_identity_by_api_token(), {"token_hash": secret_hash(secret)}
    )
    if row is None:
        return None
    return _viewer(row, can_write=row.scope is TokenScope.READ_WRITE, via_api_token=True)


def _viewer(row: Any, *, can_write: bool = True, via_api_token: bool = False) -> Viewer:
    roles = {
        workspace_id: Role(role)
        for workspace_id, role in zip(row.workspace_ids, row.roles, strict=True)
    }
    return Viewer(user_id=row.id, roles=roles, can_write=can_write, via_api_token=via_api_token)


async def viewer_for_bearer(db: RequestDatabase, token: str, issuer: AccessTokenIssuer) -> Viewer:
    """The viewer of an `Authorization: Bearer` credential: a personal API token (by its prefix)
    or an access token. InvalidTokenError for anything else, never a silent anonymous viewer."""
    if token.startswith(API_TOKEN_PREFIX):
        viewer = await viewer_by_api_token(db, token)
    else:
        viewer = await viewer_by_user_id(db, *issuer.subject_of(token))
    if viewer is None:
        raise InvalidTokenError("no such account or token")
    return viewer
