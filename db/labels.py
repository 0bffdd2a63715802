"""The statements behind the label mutations."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects import postgresql

from db.queries import issue_labels, issues, labels, typed_param
from db.writes import TARGET, WORKSPACE, lock_in_scope, next_position

if TYPE_CHECKING:
    from sqlalchemy import Insert, Select
    from sqlalchemy.sql.dml import ReturningDelete


@cache
def lock_label() -> Select[Any]:
    return lock_in_scope(labels)


@cache
def lock_label_for_delete() -> Select[Any]:
    """FOR UPDATE: waits for the issues being given the label in flight, so none is missed."""
    return lock_in_scope(labels, for_delete=True)


@cache
def insert_label() -> Insert:
    """Last in the workspace's order; no row when the name is taken."""
    return (
        postgresql.insert(labels)
        .values(
            workspace_id=WORKSPACE,
            name=typed_param("name", labels.c.name),
            color=typed_param("color", labels.c.color),
            position=next_position(labels),
        )
        .on_conflict_do_nothing(index_elements=[labels.c.workspace_id, labels.c.name])
        .returning(*labels.c)
    )


@cache
def lock_issues_with_label() -> Select[Any]:
    """The issues carrying a label being deleted, locked in id order like every batch."""
    return (
        select(issues.c.id)
        .where(
            exists().where(
                issue_labels.c.issue_id == issues.c.id, issue_labels.c.label_id == TARGET
            )
        )
        .order_by(issues.c.id)
        .with_for_update(key_share=True)
    )


@cache
def detach_label() -> ReturningDelete[Any]:
    """Takes a label being deleted off every issue; returns them for the log."""
    return (
        delete(issue_labels)
        .where(issue_labels.c.label_id == TARGET)
        .returning(issue_labels.c.issue_id)
    )
