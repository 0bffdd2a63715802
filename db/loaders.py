"""Per-request DataLoaders: every relation the API exposes, batched into one statement per batch.

A `Loaders` is created in the context getter for one request and dies with it, so its caches
never outlive the request nor cross viewers. Every loader reads through `db.queries`, which scopes
its SQL to the viewer's workspaces.
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from dataclasses import dataclass
from functools import cache, cached_property, partial
from typing import TYPE_CHECKING, Any

from aiodataloader import DataLoader
from sqlalchemy import BigInteger, Integer, any_, bindparam, func, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY

from db import accounts, issue_counts, queries, search, webhooks, workspaces
from db import notifications as notification_sql
from db.issue_filters import IssueFilter
from db.pagination import Page, PageArgs, count_per_parent, fetch_pages_per_parent, shaped
from db.queries import ReadScope

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable, Sequence

    from sqlalchemy import Column, ColumnElement, Row, Select, Table

    from db.pagination import Ordering
    from db.session import RequestDatabase


@dataclass(frozen=True, slots=True, order=True)
class Join:
    """A to-one row read in the statement of its parents' page, and handed to its loader.

    `foreign_key` is the parents' column holding the row's id, `loader` the `Loaders` attribute
    (a by-id loader) that would otherwise read it, in a statement of its own, a level later. The
    row is read through that loader's own scoped SELECT, so the join sees exactly what the
    loader would: a row the viewer may not read is not joined, and is left to the loader.
    """

    foreign_key: str
    loader: str


NO_JOINS: frozenset[Join] = frozenset()


class PageKey:
    """One parent's page of a relation: the key of `RelationLoader.pages`.

    Its hash is computed once. Keys are hashed some five times on their way through a loader,
    and hashing the ordering and the arguments runs Python code for each of their parts (the
    dataclasses, SQLAlchemy's columns): that was 5% of a list view's instructions.
    """

    __slots__ = ("_hash", "parent_id", "shape")

    def __init__(
        self,
        parent_id: int,
        ordering: Ordering,
        args: PageArgs,
        filter: Hashable | None = None,
        joins: frozenset[Join] = NO_JOINS,
    ) -> None:
        self._set(parent_id, _PageShape(ordering, args, filter, joins))

    def _set(self, parent_id: int, shape: _PageShape) -> None:
        self.parent_id = parent_id
        self.shape = shape
        self._hash = hash((parent_id, shape))

    @classmethod
    def of_parents(cls, parent_ids: Iterable[int], shape: _PageShape) -> list[PageKey]:
        """The keys of the same page of each parent's list, sharing one shape (compared by
        identity when the loader groups them)."""
        keys = []
        for parent_id in parent_ids:
            key = cls.__new__(cls)
            key._set(parent_id, shape)
            keys.append(key)
        return keys

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PageKey)
            and self._hash == other._hash
            and self.parent_id == other.parent_id
            and self.shape == other.shape
        )

    def __repr__(self) -> str:
        return f"PageKey({self.parent_id!r}, {self.shape!r})"


class _PageShape:
    """What the keys of one statement share (all but the parent), its hash computed once."""

    __slots__ = ("_hash", "args", "filter", "joins", "ordering")

    def __init__(
        self,
        ordering: Ordering,
        args: PageArgs,
        filter: Hashable | None,
        joins: frozenset[Join],
    ) -> None:
        self.ordering = ordering
        self.args = args
        self.filter = filter
        self.joins = joins
        self._hash = hash((ordering, args, filter, joins))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, _PageShape)
            and self._hash == other._hash
            and (self.ordering, self.args, self.filter, self.joins)
            == (other.ordering, other.args, other.filter, other.joins)
        )

    def __repr__(self) -> str:
        return f"_PageShape({self.ordering!r}, {self.args!r}, {self.filter!r}, {self.joins!r})"


@dataclass(frozen=True, slots=True)
class CountKey:
    parent_id: int
    filter: Hashable | None = None


class RelationLoader:
    """Pages and counts of a one-to-many relation (a workspace's issues, an issue's comments).

    `query` and `count_query` build the relation's scoped SELECTs (see `db.queries`); the
    statements are built once per shape for the whole process, keyed by the relation's `name`.
    """

    __slots__ = ("counts", "pages")

    def __init__(
        self,
        loaders: Loaders,
        name: str,
        query: Callable[[], Select[Any]],
        parent: ColumnElement[Any],
        *,
        filtered: bool = False,
        count_query: Callable[[], Select[Any]] | None = None,
        counts_with_pages: bool = False,
        counters: bool = False,
    ) -> None:
        # The batch functions are bound to a `_Relation`, which refers to no loader (nor to
        # `loaders`): were they this object's own methods, each loader would be a reference
        # cycle (loader -> batch function -> this object -> loader), and a request's rows would
        # outlive it until the cycle collector ran.
        batch = loaders._batch
        relation = _Relation(
            loaders._db,
            name,
            query,
            count_query or query,
            parent,
            loaders.scope_params,
            filtered,
            counts_with_pages,
            counters,
            # Loaders that keep nothing (the bench's N+1 baseline) keep no rows either.
            loaders._known if batch else None,
        )
        self.counts: DataLoader[CountKey, int] = DataLoader(
            relation.load_counts, batch=batch, cache=batch
        )
        self.pages: DataLoader[PageKey, Page] = DataLoader(
            partial(relation.load_pages, self.counts), batch=batch, cache=batch
        )

    def pages_of(
        self,
        parent_ids: Iterable[int],
        ordering: Ordering,
        args: PageArgs,
        filter: Hashable | None = None,
        joins: frozenset[Join] = NO_JOINS,
    ) -> Awaitable[list[Page]]:
        """The same page of each parent's list, read with the rows of `joins` (for their
        loaders: `prime_joined`): one statement for them all, with the other pages of the
        batch that share its shape."""
        shape = _PageShape(ordering, args, filter, joins)
        return self.pages.load_many(PageKey.of_parents(parent_ids, shape))


@dataclass(frozen=True, slots=True)
class _Relation:
    """What a `RelationLoader`'s batch functions read: the request's database handle, the
    relation's SELECTs and the viewer's scope."""

    db: RequestDatabase
    name: str
    query: Callable[[], Select[Any]]
    count_query: Callable[[], Select[Any]]
    parent: ColumnElement[Any]
    scope: dict[str, Any]
    filtered: bool
    # Short lists (an issue's comments) are counted by the statement that pages them, and
    # the count primes `counts`: `totalCount` next to `nodes` then costs no statement.
    counts_with_pages: bool
    # Issue lists: counted from `issue_counts` where its counters decide the filter.
    counters: bool
    # The request's rows read so far (`Loaders`): the to-one rows a page is read with go
    # there. None where nothing is kept (the bench's N+1 baseline): pages are read alone.
    known: KnownRows | None

    def statement(
        self,
        query: Callable[[], Select[Any]],
        filter: Hashable | None,
        *,
        paged: bool,
        joins: frozenset[Join] = NO_JOINS,
    ) -> tuple[Hashable, Callable[[], Select[Any]], dict[str, Any]]:
        """The shape key, the SELECT builder and the parameters for `filter` (and `joins`)."""
        if not self.filtered or filter is None:
            filter_shape: Hashable = None
            params = self.scope
        else:
            filter_shape = filter.shape  # type: ignore[attr-defined]
            params = {**self.scope, **filter.params()}  # type: ignore[attr-defined]
        parent = self.parent

        def build() -> Select[Any]:
            select = query()
            if paged:
                select = select.add_columns(parent.label("batch_parent"))
            if filter_shape is not None:
                select = filter.apply(select)  # type: ignore[union-attr]
            return _joined(select, joins)

        ordered_joins = tuple(sorted(joins))
        return (self.name, filter_shape, ordered_joins), build, params

    def counter_statement(
        self, filter: Hashable | None
    ) -> tuple[Hashable, Callable[[], Select[Any]], ColumnElement[Any], dict[str, Any]] | None:
        """The shape key, the SELECT builder, the parent column and the parameters of the
        count of `filter` from the counters (`db.issue_counts`), if they can answer it."""
        if not self.counters or not isinstance(filter, IssueFilter | None):
            return None
        counted = issue_counts.counter_statement(self.parent, filter)
        if counted is None:
            return None
        params = self.scope if filter is None else {**self.scope, **filter.params()}
        return (*counted, params)

    async def load_pages(
        self, counts: DataLoader[CountKey, int], keys: Sequence[PageKey]
    ) -> list[Page]:
        # Keys that differ only by parent share one statement; other arguments split the batch.
        groups: dict[_PageShape, list[int]] = defaultdict(list)
        for key in keys:
            groups[key.shape].append(key.parent_id)
        pages: dict[tuple[_PageShape, int], Page] = {}
        for page_shape, parent_ids in groups.items():
            ordering, args, filter = page_shape.ordering, page_shape.args, page_shape.filter
            joins = page_shape.joins if self.known is not None else NO_JOINS
            shape, build, params = self.statement(self.query, filter, paged=True, joins=joins)
            found = await fetch_pages_per_parent(
                self.db,
                shape,
                build,
                self.parent,
                list(dict.fromkeys(parent_ids)),
                ordering,
                args,
                params,
                with_totals=self.counts_with_pages,
            )
            for parent_id, page in found.items():
                pages[(page_shape, parent_id)] = page
                if page.total is not None:
                    counts.prime(CountKey(parent_id, filter), page.total)
                if joins:
                    assert self.known is not None
                    prime_joined(self.known, joins, page.rows)
        return [pages[(k.shape, k.parent_id)] for k in keys]

    async def load_counts(self, keys: Sequence[CountKey]) -> list[int]:
        groups: dict[Hashable | None, list[int]] = defaultdict(list)
        for key in keys:
            groups[key.filter].append(key.parent_id)
        totals: dict[tuple[Any, int], int] = {}
        for filter, parent_ids in groups.items():
            unique_ids = list(dict.fromkeys(parent_ids))
            counted = self.counter_statement(filter)
            if counted is not None:
                shape, build, parent, params = counted
                found = await count_per_parent(
                    self.db, shape, build, parent, unique_ids, params, total=issue_counts.TOTAL
                )
            else:
                shape, build, params = self.statement(self.count_query, filter, paged=False)
                found = await count_per_parent(
                    self.db, shape, build, self.parent, unique_ids, params
                )
            for parent_id, total in found.items():
                totals[(filter, parent_id)] = total
        return [totals[(k.filter, k.parent_id)] for k in keys]


def _rows_by(
    db: RequestDatabase,
    query: Select[Any],
    key_column: Column[Any],
    scope: dict[str, Any],
    *,
    batch: bool,
    known: dict[Any, Any] | None = None,
) -> DataLoader[Any, Row[Any] | None]:
    """A loader of single rows by a unique key: one `WHERE key = ANY($1)` per batch, for the
    keys `known` (the rows read so far, with others too: `prime_joined`) does not
    hold; the rows it reads are added to `known`."""
    fetch = _fetch_rows_by(db, query, key_column, scope, known)
    return DataLoader(fetch, batch=batch, cache=batch)


def _fetch_rows_by(
    db: RequestDatabase,
    query: Select[Any],
    key_column: Column[Any],
    scope: dict[str, Any],
    known: dict[Any, Any] | None = None,
) -> Callable[[list[Any]], Coroutine[Any, Any, list[Row[Any] | None]]]:
    """The batch function of `_rows_by`: the row of each key, or None."""
    statement = shaped(
        ("rows by", query, key_column),
        lambda: query.where(key_column == any_(bindparam("keys", type_=ARRAY(key_column.type)))),
    )

    async def load(keys: list[Any]) -> list[Row[Any] | None]:
        read = known if known is not None else {}  # without `known`, this batch's rows only
        keys_read = [key for key in keys if key not in read]
        if keys_read:
            rows = await db.fetch_all(statement, {**scope, "keys": keys_read})
            found = {getattr(row, key_column.key): row for row in rows}
            for key in keys_read:
                # The first read of a row is the one every later read is answered with.
                read.setdefault(key, found.get(key))
        return [read[key] for key in keys]

    return load


class _RowById(cached_property[DataLoader[int, "Row[Any] | None"]]):
    """A loader of `Loaders`: `table`'s rows by id, read through `query`, by default the rows of
    the viewer's workspaces (`queries.visible_rows`). Its rows can also be read with a page of
    rows pointing at them (a `Join` naming this attribute)."""

    def __init__(self, table: Table, query: Callable[[], Select[Any]] | None = None) -> None:
        self.table = table
        self.query: Callable[[], Select[Any]] = query or partial(queries.visible_rows, table)
        self.name = ""  # the `Loaders` attribute, once it is one

        def loader(loaders: Loaders) -> DataLoader[int, Row[Any] | None]:
            return _rows_by(
                loaders._db,
                self.query(),
                table.c.id,
                loaders.scope_params,
                batch=loaders._batch,
                # Loaders that keep nothing (the bench's N+1 baseline) keep no rows either.
                known=known_rows(loaders._known, self.name) if loaders._batch else None,
            )

        super().__init__(loader)

    def __set_name__(self, owner: type, name: str) -> None:
        super().__set_name__(owner, name)
        self.name = name
        _JOINABLE[name] = self


_JOINABLE: dict[str, _RowById] = {}
"""The by-id loaders of `Loaders`, by attribute name: what a `Join` can name."""


def _joined(select: Select[Any], joins: Iterable[Join]) -> Select[Any]:
    """`select` with each join's row as extra columns `<foreign key>__<column>`: a LEFT JOIN
    to its loader's own scoped SELECT (so null where that loader would find no row), which
    PostgreSQL flattens into a join on the table's primary key. A join whose foreign key
    `select` does not read is left out: its loader reads it."""
    for join in sorted(joins):
        foreign_key = select.selected_columns.get(join.foreign_key)
        if foreign_key is None:
            continue
        row = _JOINABLE[join.loader].query().subquery(f"{join.foreign_key}_row")
        select = select.outerjoin(row, row.c.id == foreign_key).add_columns(
            *(column.label(f"{join.foreign_key}__{column.key}") for column in row.c)
        )
    return select


@cache
def _joined_by_id(loader: str, joins: frozenset[Join]) -> Select[Any]:
    """The SELECT of the by-id loader `loader` with `joins`: built once per process."""
    return _joined(_JOINABLE[loader].query(), joins)


@cache
def _joined_row_type(loader: str) -> tuple[Any, tuple[str, ...]]:
    """The rows the by-id loader `loader` returns (named tuples of its SELECT's columns)."""
    names = tuple(str(column.key) for column in _JOINABLE[loader].query().selected_columns)
    return namedtuple("Row", names), names


def _relation(
    name: str,
    query: Callable[[], Select[Any]],
    parent: ColumnElement[Any],
    *,
    short: bool = False,
    filtered: bool = False,
    count_query: Callable[[], Select[Any]] | None = None,
    counters: bool = False,
) -> cached_property[RelationLoader]:
    """A loader of `Loaders`: the rows of `query` whose `parent` column is the parent's id.
    `short` lists (an issue's comments) are counted by the statement that pages them; the rest
    is as `RelationLoader` takes it."""

    def loader(loaders: Loaders) -> RelationLoader:
        return RelationLoader(
            loaders,
            name,
            query,
            parent,
            filtered=filtered,
            count_query=count_query,
            counts_with_pages=short,
            counters=counters,
        )

    return cached_property(loader)


def _of_workspace(table: Table) -> cached_property[RelationLoader]:
    """A loader of `Loaders`: a workspace's rows of `table` (its projects, labels, activity...)."""
    return _relation(
        f"{table.name} of workspace", partial(queries.visible_rows, table), table.c.workspace_id
    )


def _issues_by(
    name: str, parent: ColumnElement[Any], *, short: bool = False
) -> cached_property[RelationLoader]:
    """A loader of `Loaders`: the issues whose `parent` column is the parent's id, filterable."""
    return _relation(
        name,
        queries.visible_issues,
        parent,
        short=short,
        filtered=True,
        # Counting needs no join to projects (every issue has one): a third of its cost.
        count_query=queries.countable_issues,
        counters=True,
    )


def _all_of_workspace(
    table: Table, order_by: str
) -> cached_property[DataLoader[int, list[Row[Any]]]]:
    """A loader of `Loaders`: all of each workspace's rows of `table`, in `order_by` then id."""

    def loader(loaders: Loaders) -> DataLoader[int, list[Row[Any]]]:
        return loaders._rows_of(
            queries.visible_rows(table), table.c.workspace_id, (table.c[order_by], table.c.id)
        )

    return cached_property(loader)


KnownRows = dict[str, dict[int, Any]]
"""The rows of a request's by-id loaders read so far, by loader and id (`Loaders`)."""


def known_rows(known: KnownRows, loader: str) -> dict[int, Any]:
    """The rows of the by-id loader `loader` read so far, by id."""
    kept = known.get(loader)
    if kept is None:
        kept = known[loader] = {}
    return kept


def prime_joined(known: KnownRows, joins: frozenset[Join], rows: Sequence[Any]) -> None:
    """Hand each joined row of `rows` (read with `joins`) to the rows read so far, so that
    the to-one fields of those rows cost no statement."""
    if not joins or not rows:
        return
    fields = rows[0]._fields
    for join in joins:
        prefix = f"{join.foreign_key}__"
        if prefix + "id" not in fields:
            continue  # not joined (see `_joined`)
        row_type, names = _joined_row_type(join.loader)
        columns = [prefix + name for name in names]
        kept = known_rows(known, join.loader)
        for row in rows:
            key = getattr(row, join.foreign_key)
            if key is None or key in kept:
                continue  # the first read of a row is the one kept, as a loader's cache
            # No joined row: one the viewer may not read (the key is a foreign key), for
            # which the loader's own statement would find none either.
            joined = getattr(row, prefix + "id") is not None
            kept[key] = (
                row_type._make([getattr(row, column) for column in columns]) if joined else None
            )


class Loaders:
    """Every loader of one request, bound to its database handle and its viewer's read scope."""

    # Each loader is made on first use: a request touches a handful of them. Their statements
    # are built once per process; the viewer's scope travels as parameters.

    def __init__(self, db: RequestDatabase, scope: ReadScope, *, batch: bool = True) -> None:
        self._db = db
        self.scope = scope
        self.scope_params = queries.scope_params(scope)
        self._batch = batch
        self._joined_loaders: dict[tuple[str, frozenset[Join]], DataLoader[int, Any]] = {}
        # The rows of the by-id loaders read so far, by loader and id, with others too
        # (`prime_joined`); None for an id whose row the viewer may not read. Kept apart from
        # the loaders' own caches, where a row handed over would cost a future, and its read
        # another.
        self._known: KnownRows = {}

    def _rows(self, query: Select[Any], key: Column[Any]) -> DataLoader[Any, Row[Any] | None]:
        return _rows_by(self._db, query, key, self.scope_params, batch=self._batch)

    def rows_read(self, loader: str, ids: list[int]) -> list[Any] | None:
        """The rows of `ids` as the by-id loader `loader` reads them, if all were read already
        (the to-one links of a list view, read with it); else None."""
        known = self._known.get(loader)
        if known is not None and all(pk in known for pk in ids):
            return [known[pk] for pk in ids]
        return None

    async def rows_by_id(self, loader: str, ids: list[int]) -> list[Any]:
        """The rows of `ids`, as the by-id loader `loader` reads them: straight from the rows
        read so far when they hold every one."""
        rows = self.rows_read(loader, ids)
        if rows is not None:
            return rows
        by_id: DataLoader[int, Any] = getattr(self, loader)
        return await by_id.load_many(ids)

    def by_id_with(self, loader: str, joins: frozenset[Join]) -> DataLoader[int, Any]:
        """The by-id loader `loader`, reading with its rows those of `joins` (for their
        loaders, as `prime_joined` hands them over)."""
        if not joins or not self._batch:
            by_id: DataLoader[int, Any] = getattr(self, loader)
            return by_id
        found = self._joined_loaders.get((loader, joins))
        if found is None:
            fetch = _fetch_rows_by(
                self._db,
                _joined_by_id(loader, joins),
                _JOINABLE[loader].table.c.id,
                self.scope_params,
            )
            # The rows read so far, not this `Loaders`: its loaders refer to no `Loaders`, so
            # a request's rows go with it, not when the cycle collector runs.
            known = self._known

            async def load(keys: list[int]) -> list[Any]:
                rows = await fetch(keys)
                found_rows = [row for row in rows if row is not None]
                prime_joined(known, joins, found_rows)
                # The rows themselves too, for the same objects read another way.
                kept = known_rows(known, loader)
                for row in found_rows:
                    kept.setdefault(row.id, row)
                return rows

            found = DataLoader(load, batch=self._batch, cache=self._batch)
            self._joined_loaders[(loader, joins)] = found
        return found

    user_by_id = _RowById(queries.users, queries.visible_users)
    workspace_by_id = _RowById(queries.workspaces, queries.visible_workspaces)
    membership_by_id = _RowById(queries.memberships)
    project_by_id = _RowById(queries.projects)
    workflow_state_by_id = _RowById(queries.workflow_states)
    label_by_id = _RowById(queries.labels)
    issue_by_id = _RowById(queries.issues, queries.visible_issues)
    comment_by_id = _RowById(queries.comments)
    api_token_by_id = _RowById(queries.api_tokens, accounts.visible_api_tokens)
    invitation_by_id = _RowById(workspaces.invitations, workspaces.visible_invitations)
    activity_entry_by_id = _RowById(queries.activity)
    webhook_by_id = _RowById(webhooks.webhooks, webhooks.visible_webhooks)
    webhook_delivery_by_id = _RowById(webhooks.deliveries, webhooks.visible_deliveries)
    notification_by_id = _RowById(
        notification_sql.notifications, notification_sql.visible_notifications
    )
    """The viewer's own notifications only."""

    @cached_property
    def workspace_by_slug(self) -> DataLoader[str, Row[Any] | None]:
        return self._rows(queries.visible_workspaces(), queries.workspaces.c.slug)

    @cached_property
    def issue_by_identifier(self) -> DataLoader[tuple[int, str, int], Row[Any] | None]:
        return self._issue_by_identifier(self._db, self.scope_params, batch=self._batch)

    projects_of_workspace = _of_workspace(queries.projects)
    memberships_of_workspace = _of_workspace(queries.memberships)
    labels_of_workspace = _of_workspace(queries.labels)
    workflow_states_of_workspace = _of_workspace(queries.workflow_states)
    activity_of_workspace = _of_workspace(queries.activity)

    issues_of_workspace = _issues_by("issues of workspace", queries.issues.c.workspace_id)
    issues_of_project = _issues_by("issues of project", queries.issues.c.project_id)
    children_of_issue = _issues_by("children of issue", queries.issues.c.parent_id, short=True)
    issues_assigned_to_user = _issues_by("issues assigned to user", queries.issues.c.assignee_id)
    issues_of_state = _issues_by("issues of state", queries.issues.c.state_id)

    workflow_states_by_workspace_id = _all_of_workspace(queries.workflow_states, "position")
    """All of each workspace's workflow states, in board order."""
    projects_by_workspace_id = _all_of_workspace(queries.projects, "key")
    """All of each workspace's projects, by key."""

    webhooks_of_workspace = _relation(
        "webhooks of workspace", webhooks.visible_webhooks, webhooks.webhooks.c.workspace_id
    )
    deliveries_of_webhook = _relation(
        "deliveries of webhook", webhooks.visible_deliveries, webhooks.deliveries.c.webhook_id
    )
    history_of_issue = _relation(
        "history of issue",
        partial(queries.visible_rows, queries.activity),
        queries.activity.c.issue_id,
    )
    comments_of_issue = _relation(
        "comments of issue",
        partial(queries.visible_rows, queries.comments),
        queries.comments.c.issue_id,
        short=True,
    )
    labels_of_issue = _relation(
        "labels of issue", queries.issue_labels_of, queries.issue_labels.c.issue_id, short=True
    )

    @staticmethod
    def _issue_by_identifier(
        db: RequestDatabase, scope: dict[str, Any], *, batch: bool
    ) -> DataLoader[tuple[int, str, int], Row[Any] | None]:
        """Keys are (workspace id, project key, number): `ENG-42` in one workspace."""
        issues, projects = queries.issues, queries.projects
        # Three arrays zipped by unnest: one parameter each, whatever the number of keys.
        wanted = select(
            func.unnest(bindparam("workspace_ids", type_=ARRAY(BigInteger))).label("workspace_id"),
            func.unnest(bindparam("project_keys", type_=ARRAY(projects.c.key.type))).label("key"),
            func.unnest(bindparam("numbers", type_=ARRAY(Integer))).label("number"),
        ).subquery()
        statement = shaped(
            ("issue by identifier",),
            lambda: queries.visible_issues().where(
                tuple_(issues.c.workspace_id, projects.c.key, issues.c.number).in_(
                    select(wanted.c.workspace_id, wanted.c.key, wanted.c.number)
                )
            ),
        )

        async def load(keys: Sequence[tuple[int, str, int]]) -> list[Row[Any] | None]:
            params = {
                **scope,
                "workspace_ids": [key[0] for key in keys],
                "project_keys": [key[1] for key in keys],
                "numbers": [key[2] for key in keys],
            }
            rows = await db.fetch_all(statement, params)
            found = {(row.workspace_id, row.project_key, row.number): row for row in rows}
            return [found.get(key) for key in keys]

        return DataLoader(load, batch=batch, cache=batch)

    def _rows_of(
        self, query: Select[Any], key: Column[Any], order_by: Sequence[ColumnElement[Any]]
    ) -> DataLoader[int, list[Row[Any]]]:
        """A loader of every row whose `key` is the given one (a workspace's workflow states),
        in `order_by`: one `WHERE key = ANY($1)` per batch, for short unpaged lists."""
        statement = shaped(
            ("rows of", query, key, tuple(order_by)),
            lambda: query.where(key == any_(bindparam("keys", type_=ARRAY(key.type)))).order_by(
                *order_by
            ),
        )
        db, scope = self._db, self.scope_params

        async def load(keys: Sequence[int]) -> list[list[Row[Any]]]:
            grouped: dict[int, list[Row[Any]]] = defaultdict(list)
            for row in await db.fetch_all(statement, {**scope, "keys": list(keys)}):
                grouped[getattr(row, key.key)].append(row)
            return [grouped.get(k, []) for k in keys]

        return DataLoader(load, batch=self._batch, cache=self._batch)

    @cached_property
    def search_results_of_workspace(self) -> RelationLoader:
        """Issues matching a search (`filter` is a `db.search.SearchSpec`), best first."""
        return RelationLoader(
            self,
            "search results of workspace",
            search.ranked_issues,
            queries.issues.c.workspace_id,
            filtered=True,
            count_query=search.matching_issues,
        )

    @cached_property
    def search_snippets(self) -> DataLoader[search.SnippetKey, str | None]:
        db, scope = self._db, self.scope_params

        async def load(keys: Sequence[search.SnippetKey]) -> list[str | None]:
            return await search.load_snippets(db, scope, keys)

        return DataLoader(load, batch=self._batch, cache=self._batch)

    notifications_of_user = _relation(
        "notifications of user",
        notification_sql.visible_notifications,
        notification_sql.notifications.c.user_id,
    )
    """A user's notifications: the viewer's own only (anyone else's list is empty)."""
    unread_notifications_of_user = _relation(
        "unread notifications of user",
        notification_sql.visible_unread_notifications,
        notification_sql.notifications.c.user_id,
    )
    """Those of them not read yet: the `unreadOnly` pages and the unread count."""

    @cached_property
    def viewer_subscribed_to_issue(self) -> DataLoader[int, bool]:
        """Whether the viewer follows each issue: one statement per batch."""
        db, scope = self._db, self.scope_params
        statement = notification_sql.viewer_subscriptions()

        async def load(keys: Sequence[int]) -> list[bool]:
            rows = await db.fetch_all(statement, {**scope, "keys": list(keys)})
            followed = {row.issue_id for row in rows}
            return [key in followed for key in keys]

        return DataLoader(load, batch=self._batch, cache=self._batch)
