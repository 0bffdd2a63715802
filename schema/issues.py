"""Issues: the `Issue` type, its mutations' inputs and payloads, and `IssueMutations` (the
filter and ordering inputs of issue lists live in `schema.issue_filters`, the board in
`schema.board`).

Fields left out of an update input are left alone; `null` clears a field that may be empty
(assignee, parent, estimate, due date).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import strawberry

from resolvers import issues as use_cases
from schema import notifications as inbox
from schema import orderings, refs
from schema.enums import Priority
from schema.inputs import (
    DESCRIPTION,
    EXPECTED_VERSION,
    TITLE,
    VERSION,
    archive_input,
    changed_if_given,
    idempotent,
)
from schema.issue_filters import issue_lists
from schema.mutation_field import archive_mutations, mutation
from schema.node import Node
from schema.pagination import Connection
from schema.payloads import delete_types, node_list, object_payload, payload_type
from schema.relation_field import relation
from schema.relations import nodes_at, paged_lists, workspace_relation

if TYPE_CHECKING:
    from sqlalchemy import Row


# Batch resolvers of the Issue type's relations (see execution.batching).
_projects = nodes_at(refs.Project, "project_id", missing="Project not found.")
_states = nodes_at(refs.WorkflowState, "state_id", missing="Workflow state not found.")
_assignees = nodes_at(refs.User, "assignee_id")
_creators = nodes_at(refs.User, "creator_id")
_parents = nodes_at(refs.Issue, "parent_id")
_children = issue_lists("children_of_issue", "children")
_labels = paged_lists("labels_of_issue", "labels", orderings.LABELS, refs.Label)
_history = paged_lists("history_of_issue", "history", orderings.ACTIVITY, refs.ActivityEntry)
_comments = paged_lists("comments_of_issue", "comments", orderings.COMMENTS, refs.Comment)


@strawberry.type(description="A unit of work, identified like `ENG-42` within its workspace.")
class Issue(Node):
    workspace_id: strawberry.Private[int]
    project_id: strawberry.Private[int]
    state_id: strawberry.Private[int]
    assignee_id: strawberry.Private[int | None]
    creator_id: strawberry.Private[int | None]
    parent_id: strawberry.Private[int | None]
    identifier: str = strawberry.field(description="Project key and number, e.g. `ENG-42`.")
    number: int = strawberry.field(description="Its number in its project, from 1, never reused.")
    title: str = strawberry.field(description=TITLE)
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
    version: int = strawberry.field(description=VERSION)
    position: float = strawberry.field(
        description="Manual order (`orderBy: POSITION`), set by `issueUpdate(position:)`."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> Issue:
        return super().from_row(row, identifier=f"{row.project_key}-{row.number}")

    workspace = workspace_relation()

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

    viewer_is_subscribed = inbox.issue_viewer_is_subscribed()

    history = relation(
        _history,
        Connection[refs.ActivityEntry],
        description="Every change to this issue and its comments, oldest first (`last: n` for "
        "the latest).",
    )


@strawberry.input(description="A new issue; only `projectId` and `title` are required.")
@idempotent
class IssueCreateInput:
    project_id: strawberry.ID = strawberry.field(description="It takes the project's next number.")
    title: str = strawberry.field(description=TITLE)
    description: str = strawberry.field(default="", description=DESCRIPTION)
    state_id: strawberry.ID | None = strawberry.field(
        default=None, description="Defaults to the first not-started state on the board."
    )
    priority: Priority = strawberry.field(
        default=Priority.NONE,  # type: ignore[attr-defined]
        description="How urgent it is; NONE unless given.",
    )
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="A member of the workspace."
    )
    label_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Labels of the same workspace."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Makes it a sub-issue of an issue of the same workspace."
    )
    estimate: int | None = strawberry.field(default=None, description="Non-negative.")
    due_date: date | None = strawberry.field(
        default=None, description="The day it is due (a date, without time or time zone)."
    )


@strawberry.input(description="Changes to one issue: only the fields given are changed.")
@idempotent
class IssueUpdateInput:
    id: strawberry.ID = strawberry.field(description="The issue to change.")
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)
    title: str | None = changed_if_given(TITLE)
    description: str | None = changed_if_given(DESCRIPTION)
    state_id: strawberry.ID | None = changed_if_given(
        "A workflow state of the issue's workspace; cannot be null."
    )
    priority: Priority | None = changed_if_given("Cannot be null: NONE is no priority.")
    assignee_id: strawberry.ID | None = changed_if_given("`null` unassigns.")
    label_ids: list[strawberry.ID] | None = changed_if_given("Replaces every label.")
    add_label_ids: list[strawberry.ID] | None = changed_if_given(
        "Labels to add, keeping the others."
    )
    remove_label_ids: list[strawberry.ID] | None = changed_if_given(
        "Labels to remove, keeping the others."
    )
    parent_id: strawberry.ID | None = changed_if_given(
        "`null` makes it a top-level issue; an issue cannot become its own ancestor."
    )
    estimate: int | None = changed_if_given("Non-negative; `null` clears it.")
    due_date: date | None = changed_if_given("A date; `null` clears it.")
    project_id: strawberry.ID | None = changed_if_given(
        "Moves the issue: it takes the new project's next number (a new identifier)."
    )
    position: float | None = changed_if_given(
        "Manual order (`orderBy: POSITION`): to move an issue between two others, "
        "give a value between theirs."
    )


@strawberry.input(description="The same changes to several issues, all or none.")
class IssueBatchChangesInput:
    state_id: strawberry.ID | None = changed_if_given(
        "Moves every issue to this workflow state of their workspace; cannot be null."
    )
    priority: Priority | None = changed_if_given(
        "Gives every issue this priority; cannot be null (NONE is no priority)."
    )
    assignee_id: strawberry.ID | None = changed_if_given("`null` unassigns.")
    add_label_ids: list[strawberry.ID] | None = changed_if_given(
        "Labels to add to every issue, keeping the others."
    )
    remove_label_ids: list[strawberry.ID] | None = changed_if_given(
        "Labels to remove from every issue."
    )
    """As in `issueUpdate`: a label also in `addLabelIds` ends up removed (or is not added), and
    a label an issue does not carry is left alone (no error)."""
    parent_id: strawberry.ID | None = changed_if_given(
        "Makes every issue a sub-issue of this one; `null` makes them top-level."
    )
    """If it is one of the issues or a sub-issue of one, that issue is a CYCLE error, and the
    whole batch is rolled back."""
    estimate: int | None = changed_if_given("Non-negative; `null` clears every estimate.")
    due_date: date | None = changed_if_given("A date; `null` clears every due date.")
    project_id: strawberry.ID | None = changed_if_given(
        "Moves every issue to this project, where each takes the next number."
    )
    """They take their numbers in the order of `ids`."""


@strawberry.input(description="Up to 50 issues changed in one transaction: all or none.")
@idempotent
class IssueBatchUpdateInput:
    ids: list[strawberry.ID] = strawberry.field(description="1 to 50 issue IDs.")
    changes: IssueBatchChangesInput = strawberry.field(
        description="What to change on every issue: only the fields given."
    )


IssueArchiveInput = archive_input("issue")


IssuePayload = object_payload(Issue, "issue", conflict=True)
IssueDeleteInput, IssueDeletePayload = delete_types("issue", "The issue to delete.")
IssueBatchPayload = payload_type(
    "IssueBatchPayload",
    "The issues a batch update changed, or why none was.",
    issues=node_list(
        Issue,
        "The issues as they are now, in the order of `ids`; empty when `errors` is not.",
    ),
)


@strawberry.type
class IssueMutations:
    """Issue mutations: part of the root `Mutation`."""

    issue_create = mutation(
        use_cases.issue_create,
        IssueCreateInput,
        IssuePayload,
        description="Create an issue (MEMBER+). It takes its project's next number, without "
        "gaps or duplicates however many are created at once.",
    )

    issue_update = mutation(
        use_cases.issue_update,
        IssueUpdateInput,
        IssuePayload,
        description="Change an issue (MEMBER+): only the fields given, so concurrent changes "
        "to other fields are kept. With `expectedVersion`, a concurrent change is a CONFLICT.",
    )

    issue_batch_update = mutation(
        use_cases.issue_batch_update,
        IssueBatchUpdateInput,
        IssueBatchPayload,
        description="Apply the same changes to up to 50 issues in one transaction: all or none.",
    )

    issue_archive, issue_unarchive = archive_mutations(
        use_cases.issue_set_archived,
        IssueArchiveInput,
        IssuePayload,
        archive="Archive an issue (MEMBER+): it leaves lists unless `includeArchived`.",
        unarchive="Bring an archived issue back (MEMBER+).",
    )

    issue_delete = mutation(
        use_cases.issue_delete,
        IssueDeleteInput,
        IssueDeletePayload,
        description="Delete an issue with its comments (its creator, or ADMIN+); sub-issues "
        "become top-level. Its history stays in the workspace's activity.",
    )
