"""What every mutation's payload shares: each type made by `payload_type` from its fields, then
`errors` (`object_payload` and `deleted_payload` make the common kinds; `delete_types` and
`reorder_types` a delete's or a reorder's input with its payload), and `payload`, which maps
what a use case returns (`resolvers.mutations.Outcome`) into one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
from strawberry.types.lazy_type import LazyType

from schema.inputs import class_with_fields, id_input
from schema.names import pascal_case, snake_case
from schema.user_errors import UserError

if TYPE_CHECKING:
    from collections.abc import Callable

    from resolvers.mutations import Outcome

PayloadType = TypeVar("PayloadType")


@dataclass(frozen=True, slots=True)
class PayloadField:
    """One field of a payload type, for `payload_type`: its annotation, its Strawberry field,
    and the `Node` type (or lazy reference to one) whose `from_row` maps the records the use
    case returns for it."""

    annotation: Any
    field: Any
    node: Any = None


def node_field(of: Any, description: str) -> PayloadField:
    """The object the mutation changed, as it is now; null when it changed none."""
    return PayloadField(of | None, strawberry.field(default=None, description=description), of)


def node_list(of: Any, description: str) -> PayloadField:
    """The objects the mutation changed, as they are now; empty when it changed none."""
    field = strawberry.field(default_factory=list, description=description)
    return PayloadField(list[of], field, of)


def scalar_field(of: Any, description: str) -> PayloadField:
    """A plain value (a secret, a time), null when the mutation changed nothing."""
    return PayloadField(of | None, strawberry.field(default=None, description=description))


def gone_id(noun: str) -> PayloadField:
    """The `id` of the `noun` the mutation deleted."""
    return scalar_field(
        strawberry.ID,
        f"The `id` of the {noun}, which no longer exists; null when `errors` is not empty.",
    )


_ERRORS = PayloadField(list[UserError], strawberry.field(default_factory=list))


def payload_type(name: str, description: str, **fields: PayloadField) -> type:
    """The payload type `name`: `fields` in their order, then `errors` (empty when the mutation
    succeeded; its description is `schema.build`'s, common to every payload)."""
    cls = class_with_fields(
        name,
        {n: (f.annotation, f.field) for n, f in {**fields, "errors": _ERRORS}.items()},
        node_fields={n: f.node for n, f in fields.items() if f.node is not None},
    )
    return strawberry.type(cls, description=description)


def object_payload(of: Any, noun: str, *, conflict: bool = False) -> type:
    """`<Type>Payload`: the object a mutation created or changed, in its field `<type>`.
    With `conflict`, the mutation takes an `expectedVersion`, and a CONFLICT error comes with
    the object as it is now."""
    type_name = _type_name(of)
    return payload_type(
        f"{type_name}Payload",
        f"The {noun} a mutation created or changed, or why it could not.",
        **{
            snake_case(type_name): node_field(
                of,
                f"On CONFLICT, the {noun} as it is now."
                if conflict
                else f"The {noun} as it is now; null when `errors` is not empty.",
            )
        },
    )


def reorder_types(
    of: Any, order: str, *, noun: str | None = None, description: str, workspace: str
) -> tuple[type, type]:
    """`<Type>ReorderInput` (`description`) and `<Type>ReorderPayload`, of the mutation that puts
    every `of` object of a workspace in a new order, said by `order`. The input names the
    workspace (`workspace` describes it) and every object's ID, each once, in the field
    `<noun>Ids` (the noun is the type's name in lower case unless given); the payload holds the
    objects in that order, in the field `<type>s`."""
    type_name = _type_name(of)
    noun = noun or type_name.lower()
    every = f"Every {noun} of the workspace"
    input_class = class_with_fields(
        f"{type_name}ReorderInput",
        {
            "workspace_id": (strawberry.ID, strawberry.field(description=workspace)),
            f"{noun}_ids": (
                list[strawberry.ID],
                strawberry.field(description=f"{every}, each once, {order}."),
            ),
        },
    )
    reordered = node_list(of, f"{every}, {order}; empty when `errors` is not.")
    return strawberry.input(input_class, description=description), payload_type(
        f"{type_name}ReorderPayload",
        f"The {noun}s in their new order, or why they were not reordered.",
        **{f"{snake_case(type_name)}s": reordered},
    )


def delete_types(noun: str, description: str) -> tuple[type, type]:
    """`<Noun>DeleteInput` and `<Noun>DeletePayload`, of the mutation that deletes a `noun` named
    by its `id` and nothing else (`description` says what goes with it)."""
    name = f"{pascal_case(noun)}DeleteInput"
    return id_input(name, description, f"The {noun} to delete."), deleted_payload(noun)


def deleted_payload(noun: str) -> type:
    """`<Noun>DeletePayload`: the `id` of the `noun` a mutation deleted, in its field
    `deleted<Noun>Id`."""
    return payload_type(
        f"{pascal_case(noun)}DeletePayload",
        f"The {noun} deleted, or why it was not.",
        **{f"deleted_{noun.replace(' ', '_')}_id": gone_id(noun)},
    )


def _type_name(of: Any) -> str:
    return str(of.type_name if isinstance(of, LazyType) else of.__name__)


def payload(cls: Callable[..., PayloadType], outcome: Outcome) -> PayloadType:
    """`cls` with the outcome's errors and values; a record (a row, or a list of rows) goes
    through the `from_row` of its field's node type, plain values (IDs, secrets, times,
    counts) as they are."""
    node_fields: dict[str, Any] = getattr(cls, "node_fields", {})
    values = {}
    for name, value in outcome.values.items():
        of = node_fields.get(name)
        if of is not None and value is not None:
            # A lazy reference: the type modules refer to one another (see `schema.refs`).
            to_node = (of.resolve_type() if isinstance(of, LazyType) else of).from_row
            value = [to_node(item) for item in value] if isinstance(value, list) else to_node(value)
        elif not isinstance(value, str | int | datetime | None):
            raise TypeError(f"{name!r} holds a record: declare its field with `node_field`")
        values[name] = value
    return cls(errors=[UserError.from_record(error) for error in outcome.errors], **values)
