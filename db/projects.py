"""The statements behind the project mutations."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, bindparam
from sqlalchemy.dialects import postgresql

from db.queries import projects, typed_param
from db.writes import WORKSPACE

if TYPE_CHECKING:
    from sqlalchemy import Insert


@cache
def insert_project() -> Insert:
    """No row when the key is taken in the workspace."""
    return (
        postgresql.insert(projects)
        .values(
            workspace_id=WORKSPACE,
            key=typed_param("key", projects.c.key),
            name=typed_param("name", projects.c.name),
            description=typed_param("description", projects.c.description),
            lead_id=bindparam("lead_id", BigInteger),
        )
        .on_conflict_do_nothing(index_elements=[projects.c.workspace_id, projects.c.key])
        .returning(*projects.c)
    )
