"""Who may do what. Every path to an object (root fields, `node`, nested fields and connections,
loaders) asks these functions, so the rules live here and nowhere else.

An object the viewer may not read must behave exactly as if it did not exist: callers turn a
`False` from a `can_read_*` policy into `null` / NOT_FOUND, never into "forbidden".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auth.viewer import Viewer


def can_read_workspace(viewer: Viewer, workspace_id: int) -> bool:
    """Every role, GUEST included, reads everything in its workspace."""
    return viewer.role_in(workspace_id) is not None


def readable_workspace_ids(viewer: Viewer) -> list[int]:
    """The scope every loader query is filtered by."""
    return viewer.workspace_ids


def can_read_user(viewer: Viewer, user_id: int, user_workspace_ids: list[int]) -> bool:
    """A user is visible to themselves and to anyone sharing a workspace with them."""
    return user_id == viewer.user_id or any(
        can_read_workspace(viewer, workspace_id) for workspace_id in user_workspace_ids
    )
