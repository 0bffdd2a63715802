"""The `Issue` type (its filter and ordering inputs live in `schema.issue_filters`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import strawberry

from core.ids import to_global_id
from resolvers.context import Context
from schema import activity as activity_types
from schema import comments as comment_types
from schema import labels as label_types
from schema import orderings, refs
from schema import projects as project_types
from schema import workflow_states as state_types
from schema.enums import Priority
from schema.issue_filters import issue_lists
from schema.node import Node
from schema.pagination import Connection
from schema.relation_field import relation
from schema.relations import (
    paged_lists,
    related_nodes,
    users_at,
    workspaces_of,
)

if TYPE_CHECKING:
    from sqlalchemy import Row


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
_history = paged_lists(
    "history_of_issue",
    "history",
    orderings.ACTIVITY,
    lambda: activity_types.ActivityEntry.from_row,
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
    number: int = strawberry.field(description="Its number in its project, from 1, never reused.")
    title: str = strawberry.field(description="1 to 255 characters.")
    description: str = strawberry.field(description="Markdown.")
    priority: Priority = strawberry.field(description="NONE unless set.")
    estimate: int | None = strawberry.field(
        description="Effort in the team's own unit; null if not estimated."
    )
    due_date: date | None = strawberry.field(description="The day it is due; null if none.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When any field or label last changed.")
    archived_at: datetime | None = strawberry.field(
        description="When it was archived; null while it is not."
    )
    version: int = strawberry.field(
        description="Increases with every change; pass it back to detect conflicting edits."
    )
    position: float = strawberry.field(
        description="Manual order (`orderBy: POSITION`), set by `issueUpdate(position:)`."
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
            position=row.position,
        )

    workspace = relation(workspaces_of, refs.Workspace, description="The workspace it belongs to.")

    project = relation(_projects, refs.Project, description="The project it is numbered in.")

    state = relation(_states, refs.WorkflowState, description="Its workflow state (board column).")

    assignee = relation(
        _assignees,
        refs.User | None,
        description="Who it is assigned to; null if nobody (or their account is gone).",
    )

    creator = relation(
        _creators, refs.User | None, description="Who created it; null once their account is gone."
    )

    parent = relation(
        _parents, refs.Issue | None, description="The issue this one is a sub-issue of."
    )

    children = relation(_children, Connection[refs.Issue], description="Sub-issues.")

    labels = relation(
        _labels, Connection[refs.Label], description="Its labels, in the workspace's order."
    )

    comments = relation(_comments, Connection[refs.Comment], description="Comments, oldest first.")

    history = relation(
        _history,
        Connection[refs.ActivityEntry],
        description="Every change to this issue and its comments, oldest first (`last: n` for "
        "the latest).",
    )
