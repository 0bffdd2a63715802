"""Checks every mutation starts with, turned into the GraphQL errors clients act on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auth import policies
from core.errors import ForbiddenError, NotFoundError, UnauthenticatedError
from core.ids import pk_of

if TYPE_CHECKING:
    from resolvers.context import Context


def require_writer(context: Context) -> int:
    """The signed-in viewer's user id, if their credential may write."""
    viewer = context.viewer
    if not viewer.is_authenticated:
        raise UnauthenticatedError("Sign in first.")
    if not policies.can_write(viewer):
        raise ForbiddenError("This API token is read-only.")
    assert viewer.user_id is not None
    return viewer.user_id


def require_credential_owner(context: Context) -> int:
    """Passwords and tokens are managed in a signed-in session only: an API token may not mint
    tokens (it could outlive its own expiry or revocation) nor change the password."""
    user_id = require_writer(context)
    if not policies.can_manage_credentials(context.viewer, user_id):
        raise ForbiddenError("Manage passwords and tokens from a signed-in session.")
    return user_id


def visible_workspace_id(context: Context, global_id: str) -> int:
    """The workspace's key, if the viewer belongs to it; otherwise exactly what a workspace
    that does not exist gets."""
    pk = pk_of(global_id, "Workspace")
    if pk is None or not policies.can_read_workspace(context.viewer, pk):
        raise NotFoundError("Workspace not found.")
    return pk
