"""Inputs and payloads of the issue mutations.

Fields left out of an update input are left alone; `null` clears a field that may be empty
(assignee, parent, estimate, due date).
"""

from __future__ import annotations

from datetime import date

import strawberry

from schema import refs
from schema.enums import Priority
from schema.user_errors import UserError

IDEMPOTENCY_KEY = (
    "Any string up to 255 characters, unique per intended change: a retry with the same key "
    "within 24 hours returns the first attempt's result without doing the work again."
)
EXPECTED_VERSION = (
    "The `version` you last read: if the object has changed since, nothing is written and the "
    "payload has a CONFLICT error with the current object."
)


@strawberry.input(description="A new issue; only `projectId` and `title` are required.")
class IssueCreateInput:
    project_id: strawberry.ID = strawberry.field(description="It takes the project's next number.")
    title: str = strawberry.field(description="1 to 255 characters.")
    description: str = strawberry.field(default="", description="Markdown, at most 64 KiB.")
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
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Changes to one issue: only the fields given are changed.")
class IssueUpdateInput:
    id: strawberry.ID = strawberry.field(description="The issue to change.")
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)
    title: str | None = strawberry.field(
        default=strawberry.UNSET, description="1 to 255 characters."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Markdown, at most 64 KiB."
    )
    state_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="A workflow state of the issue's workspace; cannot be null.",
    )
    priority: Priority | None = strawberry.field(
        default=strawberry.UNSET, description="Cannot be null: NONE is no priority."
    )
    assignee_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="`null` unassigns."
    )
    label_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces every label."
    )
    add_label_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Labels to add, keeping the others."
    )
    remove_label_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Labels to remove, keeping the others."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="`null` makes it a top-level issue; an issue cannot become its own ancestor.",
    )
    estimate: int | None = strawberry.field(
        default=strawberry.UNSET, description="Non-negative; `null` clears it."
    )
    due_date: date | None = strawberry.field(
        default=strawberry.UNSET, description="A date; `null` clears it."
    )
    project_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Moves the issue: it takes the new project's next number (a new identifier).",
    )
    position: float | None = strawberry.field(
        default=strawberry.UNSET,
        description="Manual order (`orderBy: POSITION`): to move an issue between two others, "
        "give a value between theirs.",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="The same changes to several issues, all or none.")
class IssueBatchChangesInput:
    state_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Moves every issue to this workflow state of their workspace; cannot be null.",
    )
    priority: Priority | None = strawberry.field(
        default=strawberry.UNSET,
        description="Gives every issue this priority; cannot be null (NONE is no priority).",
    )
    assignee_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="`null` unassigns."
    )
    add_label_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Labels to add to every issue, keeping the others."
    )
    remove_label_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Labels to remove from every issue."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Makes every issue a sub-issue of this one; `null` makes them top-level.",
    )
    estimate: int | None = strawberry.field(
        default=strawberry.UNSET, description="Non-negative; `null` clears every estimate."
    )
    due_date: date | None = strawberry.field(
        default=strawberry.UNSET, description="A date; `null` clears every due date."
    )
    project_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Moves every issue to this project, where each takes the next number.",
    )


@strawberry.input(description="Up to 50 issues changed in one transaction: all or none.")
class IssueBatchUpdateInput:
    ids: list[strawberry.ID] = strawberry.field(description="1 to 50 issue IDs.")
    changes: IssueBatchChangesInput = strawberry.field(
        description="What to change on every issue: only the fields given."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="The issue to archive or unarchive.")
class IssueArchiveInput:
    id: strawberry.ID = strawberry.field(description="The issue to archive or unarchive.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="The issue to delete.")
class IssueDeleteInput:
    id: strawberry.ID = strawberry.field(description="The issue to delete.")


@strawberry.type(description="The issue a mutation created or changed, or why it could not.")
class IssuePayload:
    issue: refs.Issue | None = strawberry.field(
        default=None, description="On CONFLICT, the issue as it is now."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The issues a batch update changed, or why none was.")
class IssueBatchPayload:
    issues: list[refs.Issue] = strawberry.field(
        default_factory=list,
        description="The issues as they are now, in the order of `ids`; empty when `errors` "
        "is not.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The issue deleted, or why it was not.")
class IssueDeletePayload:
    deleted_issue_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The `id` of the issue, which no longer exists; null when `errors` is "
        "not empty.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)
