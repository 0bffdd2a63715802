"""The statements behind the project mutations."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, bindparam, select
from sqlalchemy.dialects import postgresql

from db.queries import in_scope, projects, typed_param
from db.writes import TARGET, WORKSPACE

if TYPE_CHECKING:
    from sqlalchemy import Insert, Select


@cache
def lock_project() -> Select[Any]:
    return (
        select(*projects.c)
        .where(projects.c.id == TARGET, in_scope(projects.c.workspace_id))
        .with_for_update(key_share=True)
    )


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
