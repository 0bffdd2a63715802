"""Resolving a request's credentials into a `Viewer` (token authentication lands here later)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auth.viewer import Viewer
from db import models, queries

if TYPE_CHECKING:
    from db.session import RequestDatabase


async def viewer_by_email(db: RequestDatabase, email: str) -> Viewer:
    """The viewer for the user with this email, anonymous if there is none: one statement."""
    row = await db.fetch_one(queries.viewer_identity_by_email(), {"email": email.lower()})
    if row is None:
        return Viewer.anonymous()
    roles = {
        workspace_id: models.Role(role)
        for workspace_id, role in zip(row.workspace_ids, row.roles, strict=True)
    }
    return Viewer(user_id=row.id, roles=roles)
