"""Who may do what. Every path to an object (root fields, `node`, nested fields and connections,
loaders) asks these functions, so the rules live here and nowhere else.

An object the viewer may not read must behave exactly as if it did not exist: callers turn a
`False` from a `can_read_*` policy into `null` / NOT_FOUND, never into "forbidden".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auth.viewer import Viewer


def readable_workspace_ids(viewer: Viewer) -> list[int]:
    """The scope every loader query is filtered by: every role, GUEST included, reads
    everything in its workspaces; users are visible to those sharing a workspace with them."""
    return viewer.workspace_ids


def can_write(viewer: Viewer) -> bool:
    """Mutations need a signed-in viewer whose credential may write (not a read-only token)."""
    return viewer.is_authenticated and viewer.can_write


def can_manage_credentials(viewer: Viewer, user_id: int) -> bool:
    """Tokens and passwords are their owner's alone; no workspace role reaches them."""
    return viewer.user_id is not None and viewer.user_id == user_id
