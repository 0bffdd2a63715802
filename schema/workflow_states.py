"""Workflow states (board columns): the `WorkflowState` type, its mutations' inputs and
payloads, and `WorkflowStateMutations`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry

from core.ids import to_global_id
from resolvers import workflow_states as use_cases
from schema import refs
from schema.enums import WorkflowStateType
from schema.node import Node
from schema.payloads import IDEMPOTENCY_KEY, gone_id, mutation
from schema.relation_field import relation
from schema.relations import workspaces_of
from schema.user_errors import UserError

if TYPE_CHECKING:
    from sqlalchemy import Row


@strawberry.type(description="A column of a workspace's board, such as Todo or Done.")
class WorkflowState(Node):
    pk: strawberry.Private[int]
    workspace_id: strawberry.Private[int]
    name: str = strawberry.field(description="Unique in the workspace, such as In Review.")
    type: WorkflowStateType = strawberry.field(
        description="What being in this state says about an issue's progress."
    )
    position: int = strawberry.field(description="Order on the board, left to right.")

    loader_name = "workflow_state_by_id"

    @classmethod
    def from_row(cls, row: Row[Any]) -> WorkflowState:
        return cls(
            id=to_global_id("WorkflowState", row.id),
            pk=row.id,
            workspace_id=row.workspace_id,
            name=row.name,
            type=row.type,
            position=row.position,
        )

    workspace = relation(workspaces_of, refs.Workspace, description="The workspace it belongs to.")


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
    deleted_workflow_state_id: strawberry.ID | None = gone_id("workflow state")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The states in their new order, or why they were not reordered.")
class WorkflowStateReorderPayload:
    workflow_states: list[refs.WorkflowState] = strawberry.field(
        default_factory=list,
        description="Every state of the workspace, left to right; empty when `errors` is not.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WorkflowStateMutations:
    """Workflow state mutations: part of the root `Mutation`."""

    workflow_state_create = mutation(
        use_cases.workflow_state_create,
        WorkflowStateCreateInput,
        WorkflowStatePayload,
        description="Add a workflow state, rightmost on the board (ADMIN+).",
        workflow_state=WorkflowState.from_row,
    )

    workflow_state_update = mutation(
        use_cases.workflow_state_update,
        WorkflowStateUpdateInput,
        WorkflowStatePayload,
        description="Rename a workflow state or change its type (ADMIN+).",
        workflow_state=WorkflowState.from_row,
    )

    workflow_state_delete = mutation(
        use_cases.workflow_state_delete,
        WorkflowStateDeleteInput,
        WorkflowStateDeletePayload,
        description="Delete a workflow state (ADMIN+), moving its issues to another state.",
    )

    workflow_state_reorder = mutation(
        use_cases.workflow_state_reorder,
        WorkflowStateReorderInput,
        WorkflowStateReorderPayload,
        description="Put a workspace's board columns in a new order (ADMIN+).",
        workflow_states=WorkflowState.from_row,
    )
