"""The statements behind the workflow state mutations."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, bindparam, exists, func, select, update
from sqlalchemy.dialects import postgresql

from db.queries import issues, typed_param, workflow_states
from db.writes import TARGET, WORKSPACE, lock_in_scope, next_position

if TYPE_CHECKING:
    from sqlalchemy import Insert, Select, Update


@cache
def lock_state() -> Select[Any]:
    return lock_in_scope(workflow_states)


@cache
def lock_state_for_delete() -> Select[Any]:
    """FOR UPDATE: waits for the issues being moved into the state in flight."""
    return lock_in_scope(workflow_states, for_delete=True)


@cache
def insert_state() -> Insert:
    """Rightmost on the board; no row when the name is taken."""
    return (
        postgresql.insert(workflow_states)
        .values(
            workspace_id=WORKSPACE,
            name=typed_param("name", workflow_states.c.name),
            type=typed_param("type", workflow_states.c.type),
            position=next_position(workflow_states),
        )
        .on_conflict_do_nothing(
            index_elements=[workflow_states.c.workspace_id, workflow_states.c.name]
        )
        .returning(*workflow_states.c)
    )


@cache
def move_issues_between_states() -> Update:
    """Every issue of a state being deleted goes to another; returns them for the log."""
    return (
        update(issues)
        .where(issues.c.state_id == TARGET)
        .values(
            state_id=bindparam("new_state_id", BigInteger),
            version=issues.c.version + 1,
            updated_at=func.now(),
        )
        .returning(issues.c.id, issues.c.workspace_id)
    )


@cache
def lock_issues_in_state() -> Select[Any]:
    """The issues of a state being deleted, locked in id order like every batch."""
    return (
        select(issues.c.id)
        .where(issues.c.state_id == TARGET)
        .order_by(issues.c.id)
        .with_for_update(key_share=True)
    )


@cache
def state_has_issues() -> Select[Any]:
    return select(exists().where(issues.c.state_id == TARGET))
