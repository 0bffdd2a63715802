"""Labels: the `Label` type, its mutations' inputs and payloads, and `LabelMutations`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry

from core.ids import to_global_id
from resolvers import labels as use_cases
from schema import refs
from schema.node import Node
from schema.payloads import IDEMPOTENCY_KEY, gone_id, mutation
from schema.relation_field import relation
from schema.relations import workspaces_of
from schema.user_errors import UserError

if TYPE_CHECKING:
    from sqlalchemy import Row


@strawberry.type(description="A tag issues of one workspace can carry.")
class Label(Node):
    pk: strawberry.Private[int]
    workspace_id: strawberry.Private[int]
    name: str = strawberry.field(description="Unique in the workspace.")
    color: str = strawberry.field(description="Hex colour, e.g. `#e11d48`.")
    position: int = strawberry.field(description="Place in the workspace's order of labels.")

    loader_name = "label_by_id"

    @classmethod
    def from_row(cls, row: Row[Any]) -> Label:
        return cls(
            id=to_global_id("Label", row.id),
            pk=row.id,
            workspace_id=row.workspace_id,
            name=row.name,
            color=row.color,
            position=row.position,
        )

    workspace = relation(workspaces_of, refs.Workspace, description="The workspace it belongs to.")


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
    deleted_label_id: strawberry.ID | None = gone_id("label")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The labels in their new order, or why they were not reordered.")
class LabelReorderPayload:
    labels: list[refs.Label] = strawberry.field(
        default_factory=list,
        description="Every label of the workspace, in the new order; empty when `errors` is not.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LabelMutations:
    """Label mutations: part of the root `Mutation`."""

    label_create = mutation(
        use_cases.label_create,
        LabelCreateInput,
        LabelPayload,
        description="Create a label (ADMIN+).",
        label=Label.from_row,
    )

    label_update = mutation(
        use_cases.label_update,
        LabelUpdateInput,
        LabelPayload,
        description="Rename or recolour a label (ADMIN+).",
        label=Label.from_row,
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
        labels=Label.from_row,
    )
