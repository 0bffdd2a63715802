"""Workflow states (board columns): the `WorkflowState` type, its mutations' inputs and
payloads, and `WorkflowStateMutations`."""

from __future__ import annotations

import strawberry

from resolvers import workflow_states as use_cases
from schema.enums import WorkflowStateType
from schema.inputs import RENAME_IN_WORKSPACE, NewNamedInWorkspace, changed_if_given, idempotent
from schema.mutation_field import mutation
from schema.node import Node
from schema.payloads import deleted_payload, object_payload, reorder_types
from schema.relations import workspace_relation


@strawberry.type(description="A column of a workspace's board, such as Todo or Done.")
class WorkflowState(Node):
    workspace_id: strawberry.Private[int]
    name: str = strawberry.field(description="Unique in the workspace, such as In Review.")
    type: WorkflowStateType = strawberry.field(
        description="What being in this state says about an issue's progress."
    )
    position: int = strawberry.field(description="Order on the board, left to right.")

    workspace = workspace_relation()


@strawberry.input(description="A new workflow state, rightmost on the board.")
@idempotent
class WorkflowStateCreateInput(NewNamedInWorkspace):
    type: WorkflowStateType = strawberry.field(
        description="What being in it says about an issue's progress."
    )


@strawberry.input(description="Changes to a workflow state: only the fields given are changed.")
@idempotent
class WorkflowStateUpdateInput:
    id: strawberry.ID = strawberry.field(description="The workflow state to change.")
    name: str | None = changed_if_given(RENAME_IN_WORKSPACE)
    type: WorkflowStateType | None = changed_if_given(
        "What being in it says about an issue's progress; cannot be null."
    )


@strawberry.input(description="The workflow state to delete.")
class WorkflowStateDeleteInput:
    id: strawberry.ID = strawberry.field(description="The workflow state to delete.")
    move_issues_to_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Where its issues go; required when it has any (STATE_IN_USE otherwise).",
    )


WorkflowStatePayload = object_payload(WorkflowState, "state")
WorkflowStateDeletePayload = deleted_payload("workflow state")
WorkflowStateReorderInput, WorkflowStateReorderPayload = reorder_types(
    WorkflowState,
    "left to right",
    noun="state",
    description="A workspace's workflow states in their new board order.",
    workspace="The workspace whose board it is.",
)


@strawberry.type
class WorkflowStateMutations:
    """Workflow state mutations: part of the root `Mutation`."""

    workflow_state_create = mutation(
        use_cases.workflow_state_create,
        WorkflowStateCreateInput,
        WorkflowStatePayload,
        description="Add a workflow state, rightmost on the board (ADMIN+).",
    )

    workflow_state_update = mutation(
        use_cases.workflow_state_update,
        WorkflowStateUpdateInput,
        WorkflowStatePayload,
        description="Rename a workflow state or change its type (ADMIN+).",
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
    )
