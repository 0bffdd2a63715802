"""The statements behind the label mutations."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists

from db.queries import issue_labels, issues
from db.writes import TARGET, lock_issues_where

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.sql.dml import ReturningDelete


@cache
def lock_issues_with_label() -> Select[Any]:
    """The issues carrying a label being deleted, locked."""
    return lock_issues_where(
        exists().where(issue_labels.c.issue_id == issues.c.id, issue_labels.c.label_id == TARGET)
    )


@cache
def detach_label() -> ReturningDelete[Any]:
    """Takes a label being deleted off every issue; returns them for the log."""
    return (
        delete(issue_labels)
        .where(issue_labels.c.label_id == TARGET)
        .returning(issue_labels.c.issue_id)
    )
