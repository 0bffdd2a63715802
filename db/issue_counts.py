"""Counting issues without reading them: sums of `issue_counts`, the counters PostgreSQL keeps.

`issue_counts` holds how many issues share each (workspace, state, project, assignee, archived or
not); triggers on `issues` keep it in the transaction of every write (migration 0013,
`db.models.IssueCount`). An issue list's `totalCount` and a board column's count, when what they
count is decided by those columns alone, are the sum of the matching counters: a read of as many
rows as there are such combinations in the workspace, however many issues share them.

It covers lists whose parent is one of those columns (a workspace's, a project's, a state's or a
user's assigned issues) under filters that `IssueFilter.decided_by` them: none, or any `and`/
`or`/`not` of conditions on the state (its id, type or name), the project, the assignee (`isMe`
and `null` too) and whether the issue is archived. Anything else (labels, priority, text, dates,
the parent) is counted from the issues themselves, as before. The viewer's scope applies to the
counters as to the issues: a workspace out of scope contributes no row to the sum.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, func, literal_column, not_, select

from db import models
from db.issue_filters import FilterColumns
from db.queries import in_scope, issues

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from sqlalchemy import ColumnElement, Select

    from db.issue_filters import IssueFilter

counts = models.table_of(models.IssueCount)

_KEYED = ("state_id", "project_id", "assignee_id")
"""The filter fields the counters are keyed by, named as the counters' columns; `archived_at`
only by whether it is null."""

ON_COUNTS = FilterColumns(
    {
        **{name: counts.c[name] for name in _KEYED},
        # Only whether it is null is kept (`decided_by` asks no more of it).
        "archived_at": counts.c.archived,
    },
    {
        counts.c.assignee_id: counts.c.assignee_id == literal_column(str(models.UNASSIGNED)),
        counts.c.archived: not_(counts.c.archived),
    },
)
"""A filter's fields on the counters' key."""

_PARENTS: dict[ColumnElement[Any], ColumnElement[Any]] = {
    issues.c[name]: counts.c[name] for name in ("workspace_id", *_KEYED)
}
"""The issue lists' parent columns the counters are kept by, and their counters' column."""

TOTAL = func.sum(counts.c.count, type_=BigInteger)
"""What `db.pagination.count_per_parent` sums instead of counting rows."""


def counter_statement(
    parent: ColumnElement[Any], filter: IssueFilter | None
) -> tuple[Hashable, Callable[[], Select[Any]], ColumnElement[Any]] | None:
    """How to count `filter`'s issues per value of the issue column `parent` from the counters:
    the statement's shape key, its builder (a SELECT from `issue_counts`, for `count_per_parent`
    with `TOTAL`) and the counters' parent column. None where the counters cannot answer: a
    parent or a filter they are not keyed by."""
    counted_parent = _PARENTS.get(parent)
    if counted_parent is None:
        return None
    if filter is not None and not filter.decided_by(_KEYED, by_nullness=("archived_at",)):
        return None

    def build() -> Select[Any]:
        query = visible_counts()
        return query if filter is None else filter.apply(query, ON_COUNTS)

    shape = ("issue counts", counted_parent.key, None if filter is None else filter.shape)
    return shape, build, counted_parent


@cache
def visible_counts() -> Select[Any]:
    """The counters of the viewer's workspaces."""
    return select(counts.c.count).where(in_scope(counts.c.workspace_id))
