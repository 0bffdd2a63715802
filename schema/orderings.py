"""The sort orders of every connection; each ends on the primary key, so cursors are unique."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from core.enums import Priority
from db import notifications, queries, webhooks
from db.pagination import Ordering, SortKey
from schema.enums import IssueOrderField, OrderDirection

if TYPE_CHECKING:
    from sqlalchemy import Table

_issues = queries.issues
# Field: (row label, column, Python type). A nullable column's nulls sort last either way.
ISSUE_ORDER_KEYS = {
    IssueOrderField.CREATED_AT: ("created_at", _issues.c.created_at, datetime),
    IssueOrderField.UPDATED_AT: ("updated_at", _issues.c.updated_at, datetime),
    IssueOrderField.PRIORITY: ("priority", _issues.c.priority, Priority),
    IssueOrderField.DUE_DATE: ("due_date", _issues.c.due_date, date),
    IssueOrderField.ESTIMATE: ("estimate", _issues.c.estimate, int),
    IssueOrderField.POSITION: ("position", _issues.c.position, float),
}


def _ascending(table: Table, **keys: type) -> Ordering:
    """Ascending keys, each labelled with its column's name."""
    return tuple(SortKey(name, table.c[name], python_type) for name, python_type in keys.items())


PROJECTS = _ascending(queries.projects, key=str, id=int)
MEMBERSHIPS = _ascending(queries.memberships, id=int)
LABELS = _ascending(queries.labels, position=int, name=str, id=int)
WORKFLOW_STATES = _ascending(queries.workflow_states, position=int, id=int)
ACTIVITY = _ascending(queries.activity, id=int)
"""A workspace's stream order: its ids grow in commit order (see db/activity.py)."""
CHANGES = _ascending(queries.activity, workspace_id=int, id=int)
"""The cursor of `workspace.changes`: its workspace, and the last entry of its stream read."""
COMMENTS = _ascending(queries.comments, created_at=datetime, id=int)
WEBHOOKS = _ascending(webhooks.webhooks, id=int)
WEBHOOK_DELIVERIES: Ordering = (SortKey("id", webhooks.deliveries.c.id, int, descending=True),)
"""Newest attempt first."""
NOTIFICATIONS: Ordering = (SortKey("id", notifications.notifications.c.id, int, descending=True),)
"""Newest first: ids grow with time."""
ISSUES_DEFAULT: Ordering = (
    SortKey("created_at", _issues.c.created_at, datetime, descending=True),
    SortKey("id", _issues.c.id, int, descending=True),
)


def issue_ordering(orders: list[tuple[IssueOrderField, OrderDirection]]) -> Ordering:
    """The keys for `orderBy`, then the id in the last key's direction as the tie-breaker."""
    if not orders:
        return ISSUES_DEFAULT
    keys = []
    seen = set()
    for field, direction in orders:
        if field in seen:
            continue
        seen.add(field)
        label, column, python_type = ISSUE_ORDER_KEYS[field]
        keys.append(
            SortKey(
                label,
                column,
                python_type,
                descending=direction is OrderDirection.DESC,
                nullable=bool(column.nullable),
            )
        )
    keys.append(SortKey("id", _issues.c.id, int, keys[-1].descending))
    return tuple(keys)
