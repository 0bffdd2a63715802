"""Per-request DataLoaders: every relation the API exposes, batched into one statement per batch.

A `Loaders` is created in the context getter for one request and dies with it, so its caches
never outlive the request nor cross viewers. Every loader reads through `db.queries`, which scopes
its SQL to the viewer's workspaces.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
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
        count_query: Select[Any] | None = None,
        batch: bool = True,
    ) -> None:
        self._db = db
        self._query = query.add_columns(parent.label("batch_parent"))
        self._count_query = query if count_query is None else count_query
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


def _filter_issues(query: Select[Any], issue_filter: Any) -> Select[Any]:
    return issue_filter.apply(query)


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

    # Each loader is built on first use: a request touches a handful of them, and building one
    # means building its SQLAlchemy statements.

    def __init__(self, db: RequestDatabase, viewer: Viewer, *, batch: bool = True) -> None:
        self._db = db
        self._viewer = viewer
        self._batch = batch

    def _rows(
        self, query: Select[Any], key: ColumnElement[Any]
    ) -> DataLoader[Any, Row[Any] | None]:
        return _rows_by(self._db, query, key, batch=self._batch)

    def _relation(
        self, query: Select[Any], parent: ColumnElement[Any], **options: Any
    ) -> RelationLoader:
        return RelationLoader(self._db, query, parent, batch=self._batch, **options)

    def _issue_relation(self, parent: ColumnElement[Any]) -> RelationLoader:
        return self._relation(
            queries.visible_issues(self._viewer),
            parent,
            apply_filter=_filter_issues,
            # Counting needs no join to projects (every issue has one): a third of its cost.
            count_query=queries.countable_issues(self._viewer),
        )

    @cached_property
    def user_by_id(self) -> DataLoader[int, Row[Any] | None]:
        return self._rows(queries.visible_users(self._viewer), queries.users.c.id)

    @cached_property
    def workspace_by_id(self) -> DataLoader[int, Row[Any] | None]:
        return self._rows(queries.visible_workspaces(self._viewer), queries.workspaces.c.id)

    @cached_property
    def membership_by_id(self) -> DataLoader[int, Row[Any] | None]:
        return self._rows(queries.visible_memberships(self._viewer), queries.memberships.c.id)

    @cached_property
    def project_by_id(self) -> DataLoader[int, Row[Any] | None]:
        return self._rows(queries.visible_projects(self._viewer), queries.projects.c.id)

    @cached_property
    def workflow_state_by_id(self) -> DataLoader[int, Row[Any] | None]:
        return self._rows(
            queries.visible_workflow_states(self._viewer), queries.workflow_states.c.id
        )

    @cached_property
    def label_by_id(self) -> DataLoader[int, Row[Any] | None]:
        return self._rows(queries.visible_labels(self._viewer), queries.labels.c.id)

    @cached_property
    def issue_by_id(self) -> DataLoader[int, Row[Any] | None]:
        return self._rows(queries.visible_issues(self._viewer), queries.issues.c.id)

    @cached_property
    def comment_by_id(self) -> DataLoader[int, Row[Any] | None]:
        return self._rows(queries.visible_comments(self._viewer), queries.comments.c.id)

    @cached_property
    def workspace_by_slug(self) -> DataLoader[str, Row[Any] | None]:
        return self._workspace_by_slug(self._db, self._viewer, batch=self._batch)

    @cached_property
    def issue_by_identifier(self) -> DataLoader[tuple[int, str, int], Row[Any] | None]:
        return self._issue_by_identifier(self._db, self._viewer, batch=self._batch)

    @cached_property
    def projects_of_workspace(self) -> RelationLoader:
        return self._relation(
            queries.visible_projects(self._viewer), queries.projects.c.workspace_id
        )

    @cached_property
    def memberships_of_workspace(self) -> RelationLoader:
        return self._relation(
            queries.visible_memberships(self._viewer), queries.memberships.c.workspace_id
        )

    @cached_property
    def labels_of_workspace(self) -> RelationLoader:
        return self._relation(queries.visible_labels(self._viewer), queries.labels.c.workspace_id)

    @cached_property
    def workflow_states_of_workspace(self) -> RelationLoader:
        return self._relation(
            queries.visible_workflow_states(self._viewer), queries.workflow_states.c.workspace_id
        )

    @cached_property
    def issues_of_workspace(self) -> RelationLoader:
        return self._issue_relation(queries.issues.c.workspace_id)

    @cached_property
    def issues_of_project(self) -> RelationLoader:
        return self._issue_relation(queries.issues.c.project_id)

    @cached_property
    def children_of_issue(self) -> RelationLoader:
        return self._issue_relation(queries.issues.c.parent_id)

    @cached_property
    def issues_assigned_to_user(self) -> RelationLoader:
        return self._issue_relation(queries.issues.c.assignee_id)

    @cached_property
    def comments_of_issue(self) -> RelationLoader:
        return self._relation(queries.visible_comments(self._viewer), queries.comments.c.issue_id)

    @cached_property
    def labels_of_issue(self) -> RelationLoader:
        return self._relation(
            queries.issue_labels_of(self._viewer), queries.issue_labels.c.issue_id
        )

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
