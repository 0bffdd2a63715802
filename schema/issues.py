"""The `Issue` type, its filter and its ordering inputs."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import strawberry

from db import queries
from execution.batching import batched, resolve_one
from resolvers.context import Context, Info
from resolvers.relations import (
    connections_of,
    issue_lists,
    paged_lists,
    related_nodes,
    users_at,
    workspaces_of,
)
from schema import comments as comment_types
from schema import labels as label_types
from schema import orderings, refs
from schema import projects as project_types
from schema import workflow_states as state_types
from schema.enums import IssueOrderField, OrderDirection, Priority, WorkflowStateType
from schema.node import Node, from_global_id, to_global_id
from schema.pagination import Connection

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Row

    from db.loaders import RelationLoader


@strawberry.input(description="Narrows a list of issues; all given conditions must hold.")
class IssueFilter:
    state: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Issues in any of these workflow states."
    )
    state_type: list[WorkflowStateType] | None = strawberry.field(
        default=None, description="Issues whose state is of any of these types."
    )
    priority: list[Priority] | None = strawberry.field(
        default=None, description="Issues with any of these priorities."
    )
    assignee: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Issues assigned to any of these users."
    )
    unassigned: bool | None = strawberry.field(
        default=None,
        description="true: also (or only, without `assignee`) unassigned issues; "
        "false: only assigned ones.",
    )
    project: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Issues in any of these projects."
    )
    label: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Issues carrying at least one of these labels."
    )
    due_before: date | None = strawberry.field(
        default=None, description="Issues due strictly before this date."
    )
    include_archived: bool = strawberry.field(
        default=False, description="Include archived issues (left out by default)."
    )


@strawberry.input(description="One key to order issues by.")
class IssueOrder:
    field: IssueOrderField
    direction: OrderDirection = OrderDirection.ASC


def _pks(ids: list[strawberry.ID] | None, type_name: str) -> tuple[int, ...] | None:
    """Database keys of the IDs of `type_name`; an ID of another type matches nothing."""
    if ids is None:
        return None
    keys = []
    for global_id in ids:
        decoded = from_global_id(global_id)
        if decoded is not None and decoded[0] == type_name:
            keys.append(decoded[1])
    return tuple(sorted(set(keys)))


def filter_spec(issue_filter: IssueFilter | None) -> queries.IssueFilter:
    if issue_filter is None:
        return queries.IssueFilter()
    return queries.IssueFilter(
        state_ids=_pks(issue_filter.state, "WorkflowState"),
        state_types=tuple(issue_filter.state_type) if issue_filter.state_type else None,
        priorities=tuple(issue_filter.priority) if issue_filter.priority else None,
        assignee_ids=_pks(issue_filter.assignee, "User"),
        unassigned=issue_filter.unassigned,
        project_ids=_pks(issue_filter.project, "Project"),
        label_ids=_pks(issue_filter.label, "Label"),
        due_before=issue_filter.due_before,
        include_archived=issue_filter.include_archived,
    )


async def issue_connections(
    relation: RelationLoader,
    name: str,
    parent_ids: Sequence[int],
    *,
    filter: IssueFilter | None,
    order_by: list[IssueOrder] | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> list[Connection[Issue]]:
    ordering = orderings.issue_ordering([(o.field, o.direction) for o in order_by or ()])
    return await connections_of(
        parent_ids,
        relation,
        name,
        ordering,
        Issue.from_row,
        first=first,
        after=after,
        last=last,
        before=before,
        filter=filter_spec(filter),
    )


# Batch resolvers of the Issue type's relations (see execution.batching).


async def _projects(issues: list[Issue], context: Context) -> list[Any]:
    return await related_nodes(
        context.loaders.project_by_id,
        [i.project_id for i in issues],
        project_types.Project.from_row,
        missing="Project not found.",
    )


async def _states(issues: list[Issue], context: Context) -> list[Any]:
    return await related_nodes(
        context.loaders.workflow_state_by_id,
        [i.state_id for i in issues],
        state_types.WorkflowState.from_row,
        missing="Workflow state not found.",
    )


_assignees = users_at("assignee_id")
_creators = users_at("creator_id")


async def _parents(issues: list[Issue], context: Context) -> list[Any]:
    return await related_nodes(
        context.loaders.issue_by_id, [i.parent_id for i in issues], Issue.from_row
    )


_children = issue_lists("children_of_issue", "children")


_labels = paged_lists(
    "labels_of_issue", "labels", orderings.LABELS, lambda: label_types.Label.from_row
)
_comments = paged_lists(
    "comments_of_issue", "comments", orderings.COMMENTS, lambda: comment_types.Comment.from_row
)


@strawberry.type(description="A unit of work, identified like `ENG-42` within its workspace.")
class Issue(Node):
    pk: strawberry.Private[int]
    workspace_id: strawberry.Private[int]
    project_id: strawberry.Private[int]
    state_id: strawberry.Private[int]
    assignee_id: strawberry.Private[int | None]
    creator_id: strawberry.Private[int | None]
    parent_id: strawberry.Private[int | None]
    identifier: str = strawberry.field(description="Project key and number, e.g. `ENG-42`.")
    number: int
    title: str
    description: str = strawberry.field(description="Markdown.")
    priority: Priority
    estimate: int | None
    due_date: date | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int = strawberry.field(
        description="Increases with every change; pass it back to detect conflicting edits."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> Issue:
        return cls(
            id=to_global_id("Issue", row.id),
            pk=row.id,
            workspace_id=row.workspace_id,
            project_id=row.project_id,
            state_id=row.state_id,
            assignee_id=row.assignee_id,
            creator_id=row.creator_id,
            parent_id=row.parent_id,
            identifier=f"{row.project_key}-{row.number}",
            number=row.number,
            title=row.title,
            description=row.description,
            priority=row.priority,
            estimate=row.estimate,
            due_date=row.due_date,
            created_at=row.created_at,
            updated_at=row.updated_at,
            archived_at=row.archived_at,
            version=row.version,
        )

    @strawberry.field(metadata=batched(workspaces_of))
    async def workspace(self, info: Info) -> refs.Workspace:
        return await resolve_one(workspaces_of, self, info)

    @strawberry.field(metadata=batched(_projects))
    async def project(self, info: Info) -> refs.Project:
        return await resolve_one(_projects, self, info)

    @strawberry.field(metadata=batched(_states))
    async def state(self, info: Info) -> refs.WorkflowState:
        return await resolve_one(_states, self, info)

    @strawberry.field(metadata=batched(_assignees))
    async def assignee(self, info: Info) -> refs.User | None:
        return await resolve_one(_assignees, self, info)

    @strawberry.field(metadata=batched(_creators))
    async def creator(self, info: Info) -> refs.User | None:
        return await resolve_one(_creators, self, info)

    @strawberry.field(
        description="The issue this one is a sub-issue of.", metadata=batched(_parents)
    )
    async def parent(self, info: Info) -> Issue | None:
        return await resolve_one(_parents, self, info)

    @strawberry.field(description="Sub-issues.", metadata=batched(_children))
    async def children(
        self,
        info: Info,
        filter: IssueFilter | None = None,
        order_by: list[IssueOrder] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Issue]:
        return await resolve_one(
            _children,
            self,
            info,
            filter=filter,
            order_by=order_by,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(metadata=batched(_labels))
    async def labels(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[refs.Label]:
        return await resolve_one(
            _labels, self, info, first=first, after=after, last=last, before=before
        )

    @strawberry.field(description="Comments, oldest first.", metadata=batched(_comments))
    async def comments(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[refs.Comment]:
        return await resolve_one(
            _comments, self, info, first=first, after=after, last=last, before=before
        )
