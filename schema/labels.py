"""Labels: the `Label` type, its mutations' inputs and payloads, and `LabelMutations`."""

from __future__ import annotations

import strawberry

from resolvers import labels as use_cases
from schema.inputs import (
    RENAME_IN_WORKSPACE,
    NewNamedInWorkspace,
    changed_if_given,
    idempotent,
)
from schema.mutation_field import mutation
from schema.node import Node
from schema.payloads import delete_types, object_payload, reorder_types
from schema.relations import workspace_relation


@strawberry.type(description="A tag issues of one workspace can carry.")
class Label(Node):
    workspace_id: strawberry.Private[int]
    name: str = strawberry.field(description="Unique in the workspace.")
    color: str = strawberry.field(description="Hex colour, e.g. `#e11d48`.")
    position: int = strawberry.field(description="Place in the workspace's order of labels.")

    workspace = workspace_relation()


@strawberry.input(description="A new label, last in the workspace's order.")
@idempotent
class LabelCreateInput(NewNamedInWorkspace):
    color: str = strawberry.field(description="Hex colour such as `#e11d48`.")


@strawberry.input(description="Changes to a label: only the fields given are changed.")
@idempotent
class LabelUpdateInput:
    id: strawberry.ID = strawberry.field(description="The label to change.")
    name: str | None = changed_if_given(RENAME_IN_WORKSPACE)
    color: str | None = changed_if_given("Hex colour such as `#e11d48`; cannot be null.")


LabelPayload = object_payload(Label, "label")
LabelDeleteInput, LabelDeletePayload = delete_types("label", "The label to delete; issues lose it.")
LabelReorderInput, LabelReorderPayload = reorder_types(
    Label,
    "in the new order",
    description="A workspace's labels in their new order.",
    workspace="The workspace whose labels these are.",
)


@strawberry.type
class LabelMutations:
    """Label mutations: part of the root `Mutation`."""

    label_create = mutation(
        use_cases.label_create,
        LabelCreateInput,
        LabelPayload,
        description="Create a label (ADMIN+).",
    )

    label_update = mutation(
        use_cases.label_update,
        LabelUpdateInput,
        LabelPayload,
        description="Rename or recolour a label (ADMIN+).",
    )

    label_delete = mutation(
        use_cases.label_delete,
        LabelDeleteInput,
        LabelDeletePayload,
        description="Delete a label (ADMIN+); issues lose it.",
    )

    label_reorder = mutation(
        use_cases.label_reorder,
        LabelReorderInput,
        LabelReorderPayload,
        description="Put a workspace's labels in a new order (ADMIN+).",
    )
