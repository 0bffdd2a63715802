"""The statements behind the workflow state mutations."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, bindparam, exists, func, select, update

from db.queries import issues
from db.writes import TARGET, lock_issues_where

if TYPE_CHECKING:
    from sqlalchemy import Select, Update


@cache
def move_issues_between_states() -> Update:
    """Every issue of a state being deleted goes to another; returns them for the log."""
    return (
        update(issues)
        .where(issues.c.state_id == TARGET)
        .values(
            state_id=bindparam("new_state_id", type_=BigInteger),
            version=issues.c.version + 1,
            updated_at=func.now(),
        )
        .returning(issues.c.id, issues.c.workspace_id)
    )


@cache
def lock_issues_in_state() -> Select[Any]:
    """The issues of a state being deleted, locked."""
    return lock_issues_where(issues.c.state_id == TARGET)


@cache
def state_has_issues() -> Select[Any]:
    return select(exists().where(issues.c.state_id == TARGET))
