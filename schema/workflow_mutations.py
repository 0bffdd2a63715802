"""Inputs and payloads of the mutations that shape a workspace's work (ADMIN and up): projects,
labels and workflow states."""

from __future__ import annotations

import strawberry

from schema import refs
from schema.enums import WorkflowStateType
from schema.issue_mutations import IDEMPOTENCY_KEY
from schema.user_errors import UserError


@strawberry.input(description="A new project.")
class ProjectCreateInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace to create it in.")
    key: str = strawberry.field(
        description="Prefix of its issues' identifiers: a letter, then up to 9 letters or "
        "digits; upper-cased; unique in the workspace."
    )
    name: str = strawberry.field(description="1 to 200 characters.")
    description: str = strawberry.field(default="", description="Markdown, at most 64 KiB.")
    lead_id: strawberry.ID | None = strawberry.field(
        default=None, description="A member of the workspace."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Changes to a project: only the fields given are changed.")
class ProjectUpdateInput:
    id: strawberry.ID = strawberry.field(description="The project to change.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="1 to 200 characters; cannot be null."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Markdown, at most 64 KiB; `null` empties it."
    )
    lead_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="`null` removes the lead."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="The project to archive or unarchive.")
class ProjectArchiveInput:
    id: strawberry.ID = strawberry.field(description="The project to archive or unarchive.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The project a mutation created or changed, or why it could not.")
class ProjectPayload:
    project: refs.Project | None = strawberry.field(
        default=None, description="The project as it is now; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(description="A new label, last in the workspace's order.")
class LabelCreateInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace to create it in.")
    name: str = strawberry.field(description="1 to 100 characters, unique in the workspace.")
    color: str = strawberry.field(description="Hex colour such as `#e11d48`.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Changes to a label: only the fields given are changed.")
class LabelUpdateInput:
    id: strawberry.ID = strawberry.field(description="The label to change.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="1 to 100 characters, unique in the workspace; cannot be null.",
    )
    color: str | None = strawberry.field(
        default=strawberry.UNSET, description="Hex colour such as `#e11d48`; cannot be null."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="The label to delete; issues lose it.")
class LabelDeleteInput:
    id: strawberry.ID = strawberry.field(description="The label to delete.")


@strawberry.input(description="A workspace's labels in their new order.")
class LabelReorderInput:
    workspace_id: strawberry.ID = strawberry.field(
        description="The workspace whose labels these are."
    )
    label_ids: list[strawberry.ID] = strawberry.field(
        description="Every label of the workspace, each once, in the new order."
    )


@strawberry.type(description="The label a mutation created or changed, or why it could not.")
class LabelPayload:
    label: refs.Label | None = strawberry.field(
        default=None, description="The label as it is now; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The label deleted, or why it was not.")
class LabelDeletePayload:
    deleted_label_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The `id` of the label, which no longer exists; null when `errors` is "
        "not empty.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The labels in their new order, or why they were not reordered.")
class LabelReorderPayload:
    labels: list[refs.Label] = strawberry.field(
        default_factory=list,
        description="Every label of the workspace, in the new order; empty when `errors` is not.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(description="A new workflow state, rightmost on the board.")
class WorkflowStateCreateInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace to create it in.")
    name: str = strawberry.field(description="1 to 100 characters, unique in the workspace.")
    type: WorkflowStateType = strawberry.field(
        description="What being in it says about an issue's progress."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Changes to a workflow state: only the fields given are changed.")
class WorkflowStateUpdateInput:
    id: strawberry.ID = strawberry.field(description="The workflow state to change.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="1 to 100 characters, unique in the workspace; cannot be null.",
    )
    type: WorkflowStateType | None = strawberry.field(
        default=strawberry.UNSET,
        description="What being in it says about an issue's progress; cannot be null.",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="The workflow state to delete.")
class WorkflowStateDeleteInput:
    id: strawberry.ID = strawberry.field(description="The workflow state to delete.")
    move_issues_to_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Where its issues go; required when it has any (STATE_IN_USE otherwise).",
    )


@strawberry.input(description="A workspace's workflow states in their new board order.")
class WorkflowStateReorderInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace whose board it is.")
    state_ids: list[strawberry.ID] = strawberry.field(
        description="Every state of the workspace, each once, left to right."
    )


@strawberry.type(description="The state a mutation created or changed, or why it could not.")
class WorkflowStatePayload:
    workflow_state: refs.WorkflowState | None = strawberry.field(
        default=None, description="The state as it is now; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The workflow state deleted, or why it was not.")
class WorkflowStateDeletePayload:
    deleted_workflow_state_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The `id` of the workflow state, which no longer exists; null when `errors` is "
        "not empty.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The states in their new order, or why they were not reordered.")
class WorkflowStateReorderPayload:
    workflow_states: list[refs.WorkflowState] = strawberry.field(
        default_factory=list,
        description="Every state of the workspace, left to right; empty when `errors` is not.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)
