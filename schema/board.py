"""The board view: a workspace's issues grouped by workflow state (or project), in one request.

`Workspace.issueGroups` costs a fixed number of statements whatever the number of groups and
their page size: one for the groups (every state of the workspace), one for all the groups'
first pages (a LATERAL page per state) and, when asked, one for all their counts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from db.loaders import CountKey
from resolvers.context import Context
from schema import orderings, refs
from schema import projects as project_types
from schema import workflow_states as state_types
from schema.issue_filters import IssueFilter, IssueOrder, filter_spec
from schema.issues import Issue
from schema.pagination import MAX_PAGE_SIZE, Connection, connection_from_page, page_args
from schema.relation_field import relation
from schema.relations import joins_of

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from db.issue_filters import IssueFilter as IssueFilterSpec
    from db.pagination import Ordering, PageArgs


@strawberry.enum(description="What `issueGroups` groups a workspace's issues by.")
class IssueGrouping(Enum):
    STATE = strawberry.enum_value(
        "STATE", description="One group per workflow state, in board order, empty ones too."
    )
    PROJECT = strawberry.enum_value(
        "PROJECT", description="One group per project, by key, empty ones too."
    )


@dataclass(frozen=True, slots=True)
class _Grouping:
    groups: str
    """The `Loaders` attribute giving each workspace's groups (rows, in order)."""
    issues: str
    """The `Loaders` relation of each group's issues, keyed by the group's id."""


MAX_GROUPS = MAX_PAGE_SIZE
"""The most groups (board columns) `issueGroups` returns."""

_GROUPINGS = {
    IssueGrouping.STATE: _Grouping("workflow_states_by_workspace_id", "issues_of_state"),
    IssueGrouping.PROJECT: _Grouping("projects_by_workspace_id", "issues_of_project"),
}


@dataclass(frozen=True, slots=True)
class _Page:
    """What every group of one `issueGroups` field shares: its issues' filter, order and page."""

    relation: str
    ordering: Ordering
    args: PageArgs
    filter: IssueFilterSpec


async def issue_groups(
    workspaces: Sequence[Any],
    context: Context,
    by: Annotated[
        IssueGrouping, strawberry.argument(description="What to group by.")
    ] = IssueGrouping.STATE,
    filter: Annotated[
        IssueFilter | None,
        strawberry.argument(description="Which issues the groups hold and count."),
    ] = None,
    order_by: Annotated[
        list[IssueOrder] | None,
        strawberry.argument(description="Order within each group; newest first if null."),
    ] = None,
    first: Annotated[
        int | None,
        strawberry.argument(description="Issues per group (50 unless given, at most 100)."),
    ] = None,
) -> list[list[IssueGroup]]:
    """The batch resolver of `Workspace.issueGroups`: the groups of every workspace of a level
    in one statement; their issues and counts are fetched only if asked, one statement each."""
    grouping = _GROUPINGS[by]
    ordering = orderings.issue_ordering([(o.field, o.direction) for o in order_by or ()])
    args = page_args("issueGroups", ordering, first=first, after=None, last=None, before=None)
    page = _Page(grouping.issues, ordering, args, filter_spec(filter))
    rows_per_workspace = await getattr(context.loaders, grouping.groups).load_many(
        [workspace.pk for workspace in workspaces]
    )
    # At most MAX_GROUPS columns, in board order: the cost of a document (`server.cost`) counts
    # a list by its largest size, so the groups need one.
    return [
        [IssueGroup.from_row(by, row, page) for row in rows[:MAX_GROUPS]]
        for rows in rows_per_workspace
    ]


def _relation(group: IssueGroup, context: Context) -> Any:
    return getattr(context.loaders, group.page.relation)


async def _issue_pages(
    groups: list[IssueGroup], context: Context, joins: Collection[Any] = ()
) -> list[Connection[Issue]]:
    db_joins = joins_of(joins)
    # The groups of one `issueGroups` field share its page: one shape for all their parents.
    by_page: dict[_Page, list[IssueGroup]] = {}
    for group in groups:
        by_page.setdefault(group.page, []).append(group)
    found = await asyncio.gather(
        *(
            getattr(context.loaders, page.relation).pages_of(
                [g.pk for g in of_page], page.ordering, page.args, page.filter, db_joins
            )
            for page, of_page in by_page.items()
        )
    )
    page_of = {
        id(group): page
        for of_page, pages in zip(by_page.values(), found, strict=True)
        for group, page in zip(of_page, pages, strict=True)
    }
    pages = [page_of[id(g)] for g in groups]
    return [
        connection_from_page(
            page,
            g.page.ordering,
            Issue.from_row,
            _relation(g, context).counts,
            CountKey(g.pk, g.page.filter),
        )
        for g, page in zip(groups, pages, strict=True)
    ]


async def _total_counts(groups: list[IssueGroup], context: Context) -> list[int]:
    return list(
        await asyncio.gather(
            *(_relation(g, context).counts.load(CountKey(g.pk, g.page.filter)) for g in groups)
        )
    )


@strawberry.type(
    description="One column of a board: the issues sharing a workflow state (or a project) "
    "that match the filter, counted, with their first page."
)
class IssueGroup:
    pk: strawberry.Private[int]
    page: strawberry.Private[_Page]
    state: refs.WorkflowState | None = strawberry.field(
        description="The group's workflow state, when grouped `by: STATE`; null otherwise."
    )
    project: refs.Project | None = strawberry.field(
        description="The group's project, when grouped `by: PROJECT`; null otherwise."
    )

    @classmethod
    def from_row(cls, by: IssueGrouping, row: Any, page: _Page) -> IssueGroup:
        if by is IssueGrouping.STATE:
            return cls(
                pk=row.id, page=page, state=state_types.WorkflowState.from_row(row), project=None
            )
        return cls(pk=row.id, page=page, state=None, project=project_types.Project.from_row(row))

    total_count = relation(
        _total_counts,
        int,
        description="How many issues of the group match the filter, across all pages.",
    )

    issues = relation(
        _issue_pages,
        Connection[refs.Issue],
        description="The group's first page of issues, filtered and ordered as asked. To load "
        "more of one group, pass `pageInfo.endCursor` as `after` to `Workspace.issues` with "
        "the same filter and order, narrowed to the group's state (or project).",
    )
