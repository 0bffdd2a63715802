"""Per-request DataLoaders: every relation the API exposes, batched into one statement per batch.

A `Loaders` is created in the context getter for one request and dies with it, so its caches
never outlive the request nor cross viewers. Every loader reads through `db.queries`, which scopes
its SQL to the viewer's workspaces.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiodataloader import DataLoader
from sqlalchemy import tuple_

from db import queries
from db.pagination import Page, PageArgs, among, count_per_parent, fetch_pages_per_parent

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Sequence

    from sqlalchemy import ColumnElement, Row, Select

    from auth.viewer import Viewer
    from db.pagination import Ordering
    from db.session import RequestDatabase


@dataclass(frozen=True, slots=True)
class PageKey:
    parent_id: int
    ordering: Ordering
    args: PageArgs
    filter: Hashable | None = None


@dataclass(frozen=True, slots=True)
class CountKey:
    parent_id: int
    filter: Hashable | None = None


class RelationLoader:
    """Pages and counts of a one-to-many relation (a workspace's issues, an issue's comments)."""

    def __init__(
        self,
        db: RequestDatabase,
        query: Select[Any],
        parent: ColumnElement[Any],
        *,
        apply_filter: Callable[[Select[Any], Any], Select[Any]] | None = None,
        batch: bool = True,
    ) -> None:
        self._db = db
        self._query = query.add_columns(parent.label("batch_parent"))
        self._count_query = query
        self._parent = parent
        self._apply_filter = apply_filter
        self.pages: DataLoader[PageKey, Page] = DataLoader(
            self._load_pages, batch=batch, cache=batch
        )
        self.counts: DataLoader[CountKey, int] = DataLoader(
            self._load_counts, batch=batch, cache=batch
        )

    def _filtered(self, query: Select[Any], filter: Hashable | None) -> Select[Any]:
        if filter is None or self._apply_filter is None:
            return query
        return self._apply_filter(query, filter)

    async def _load_pages(self, keys: Sequence[PageKey]) -> list[Page]:
        # Keys that differ only by parent share one statement; other arguments split the batch.
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for key in keys:
            groups[(key.ordering, key.args, key.filter)].append(key.parent_id)
        pages: dict[tuple[Any, ...], Page] = {}
        for (ordering, args, filter), parent_ids in groups.items():
            query = self._filtered(self._query, filter)
            found = await fetch_pages_per_parent(
                self._db, query, self._parent, list(dict.fromkeys(parent_ids)), ordering, args
            )
            for parent_id, page in found.items():
                pages[(ordering, args, filter, parent_id)] = page
        return [pages[(k.ordering, k.args, k.filter, k.parent_id)] for k in keys]

    async def _load_counts(self, keys: Sequence[CountKey]) -> list[int]:
        groups: dict[Hashable | None, list[int]] = defaultdict(list)
        for key in keys:
            groups[key.filter].append(key.parent_id)
        totals: dict[tuple[Any, int], int] = {}
        for filter, parent_ids in groups.items():
            query = self._filtered(self._count_query, filter)
            found = await count_per_parent(
                self._db, query, self._parent, list(dict.fromkeys(parent_ids))
            )
            for parent_id, total in found.items():
                totals[(filter, parent_id)] = total
        return [totals[(k.filter, k.parent_id)] for k in keys]


def _rows_by(
    db: RequestDatabase, query: Select[Any], key_column: ColumnElement[Any], *, batch: bool
) -> DataLoader[Any, Row[Any] | None]:
    """A loader of single rows by a unique key: one `WHERE key = ANY($1)` per batch."""

    async def load(keys: Sequence[Any]) -> list[Row[Any] | None]:
        rows = await db.fetch_all(query.where(among(key_column, keys)))
        found = {getattr(row, key_column.key): row for row in rows}
        return [found.get(key) for key in keys]

    return DataLoader(load, batch=batch, cache=batch)


class Loaders:
    """Every loader of one request, bound to its database handle and its viewer."""

    def __init__(self, db: RequestDatabase, viewer: Viewer, *, batch: bool = True) -> None:
        q = queries
        self.user_by_id = _rows_by(db, q.visible_users(viewer), q.users.c.id, batch=batch)
        self.workspace_by_id = _rows_by(
            db, q.visible_workspaces(viewer), q.workspaces.c.id, batch=batch
        )
        self.membership_by_id = _rows_by(
            db, q.visible_memberships(viewer), q.memberships.c.id, batch=batch
        )
        self.project_by_id = _rows_by(db, q.visible_projects(viewer), q.projects.c.id, batch=batch)
        self.workflow_state_by_id = _rows_by(
            db, q.visible_workflow_states(viewer), q.workflow_states.c.id, batch=batch
        )
        self.label_by_id = _rows_by(db, q.visible_labels(viewer), q.labels.c.id, batch=batch)
        self.issue_by_id = _rows_by(db, q.visible_issues(viewer), q.issues.c.id, batch=batch)
        self.comment_by_id = _rows_by(db, q.visible_comments(viewer), q.comments.c.id, batch=batch)
        self.workspace_by_slug = self._workspace_by_slug(db, viewer, batch=batch)
        self.issue_by_identifier = self._issue_by_identifier(db, viewer, batch=batch)

        def relation(query: Select[Any], parent: ColumnElement[Any], **kw: Any) -> RelationLoader:
            return RelationLoader(db, query, parent, batch=batch, **kw)

        def filter_issues(query: Select[Any], issue_filter: Any) -> Select[Any]:
            return issue_filter.apply(query)

        issues = q.visible_issues(viewer)
        self.projects_of_workspace = relation(q.visible_projects(viewer), q.projects.c.workspace_id)
        self.memberships_of_workspace = relation(
            q.visible_memberships(viewer), q.memberships.c.workspace_id
        )
        self.labels_of_workspace = relation(q.visible_labels(viewer), q.labels.c.workspace_id)
        self.workflow_states_of_workspace = relation(
            q.visible_workflow_states(viewer), q.workflow_states.c.workspace_id
        )
        self.issues_of_workspace = relation(
            issues, q.issues.c.workspace_id, apply_filter=filter_issues
        )
        self.issues_of_project = relation(issues, q.issues.c.project_id, apply_filter=filter_issues)
        self.children_of_issue = relation(issues, q.issues.c.parent_id, apply_filter=filter_issues)
        self.issues_assigned_to_user = relation(
            issues, q.issues.c.assignee_id, apply_filter=filter_issues
        )
        self.comments_of_issue = relation(q.visible_comments(viewer), q.comments.c.issue_id)
        self.labels_of_issue = relation(q.issue_labels_of(viewer), q.issue_labels.c.issue_id)

    @staticmethod
    def _workspace_by_slug(
        db: RequestDatabase, viewer: Viewer, *, batch: bool
    ) -> DataLoader[str, Row[Any] | None]:
        query = queries.visible_workspaces(viewer)

        async def load(slugs: Sequence[str]) -> list[Row[Any] | None]:
            rows = await db.fetch_all(query.where(queries.workspaces.c.slug.in_(slugs)))
            found = {row.slug: row for row in rows}
            return [found.get(slug) for slug in slugs]

        return DataLoader(load, batch=batch, cache=batch)

    @staticmethod
    def _issue_by_identifier(
        db: RequestDatabase, viewer: Viewer, *, batch: bool
    ) -> DataLoader[tuple[int, str, int], Row[Any] | None]:
        """Keys are (workspace id, project key, number): `ENG-42` in one workspace."""
        query = queries.visible_issues(viewer)
        issues, projects = queries.issues, queries.projects

        async def load(keys: Sequence[tuple[int, str, int]]) -> list[Row[Any] | None]:
            matches = tuple_(issues.c.workspace_id, projects.c.key, issues.c.number).in_(keys)
            rows = await db.fetch_all(query.where(matches))
            found = {(row.workspace_id, row.project_key, row.number): row for row in rows}
            return [found.get(key) for key in keys]

        return DataLoader(load, batch=batch, cache=batch)
