"""The statements behind the project mutations."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy.dialects import postgresql

from db.queries import column_params, projects

if TYPE_CHECKING:
    from sqlalchemy import Insert


@cache
def insert_project() -> Insert:
    """No row when the key is taken in the workspace."""
    return (
        postgresql.insert(projects)
        .values(column_params(projects, "workspace_id", "key", "name", "description", "lead_id"))
        .on_conflict_do_nothing(index_elements=[projects.c.workspace_id, projects.c.key])
        .returning(*projects.c)
    )
