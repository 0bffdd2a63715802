"""What every mutation's input and payload share. Inputs: the descriptions of common fields,
`changed_if_given` and `idempotent`; `id_input` makes an input that only names one object
(`delete_input` and `archive_input` the ones naming an object to delete, or to archive).
Payloads: each type made by `payload_type` from its fields, then `errors` (`object_payload` and
`deleted_payload` make the common kinds; `reorder_types` a reorder's input and payload), and
`payload`, which maps what a use case returns (`resolvers.mutations.Outcome`) into one. The root
mutation fields: `mutation`, and `archive_mutations` for an archive/unarchive pair."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
from strawberry.types.lazy_type import LazyType

from resolvers.context import Info
from schema.user_errors import UserError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from resolvers.context import Context
    from resolvers.mutations import Outcome

PayloadType = TypeVar("PayloadType")

# Input fields every mutation that takes them describes alike.
IDEMPOTENCY_KEY = (
    "Any string up to 255 characters, unique per intended change: a retry with the same key "
    "within 24 hours returns the first attempt's result without doing the work again."
)
EXPECTED_VERSION = (
    "The `version` you last read: if the object has changed since, nothing is written and the "
    "payload has a CONFLICT error with the current object."
)


InputType = TypeVar("InputType", bound=type)


def idempotent(cls: InputType) -> InputType:
    """Under `@strawberry.input`: the input ends with an optional `idempotencyKey`."""
    cls.__annotations__["idempotency_key"] = str | None
    cls.idempotency_key = strawberry.field(  # type: ignore[attr-defined]
        default=None, description=IDEMPOTENCY_KEY
    )
    return cls


@strawberry.input(description="Names the workspace to create an object in.")
class NewInWorkspace:
    """The first field of the inputs that create a project, a label or a workflow state; not in
    the schema by itself (no field takes it)."""

    workspace_id: strawberry.ID = strawberry.field(description="The workspace to create it in.")


@strawberry.input(description="Names a new object of a workspace and the workspace.")
class NewNamedInWorkspace(NewInWorkspace):
    """For labels and workflow states, whose names follow the same rule."""

    name: str = strawberry.field(description="1 to 100 characters, unique in the workspace.")


def changed_if_given(description: str) -> Any:
    """A field of an update's input that changes nothing when left out (`strawberry.UNSET`,
    told apart from an explicit `null`)."""
    return strawberry.field(default=strawberry.UNSET, description=description)


def id_input(name: str, description: str, id_description: str) -> type:
    """The input `name` of a mutation that only names one object: its field `id`, described by
    `id_description` (which objects it may name)."""
    return strawberry.input(_id_only(name, id_description), description=description)


def delete_input(noun: str, description: str) -> type:
    """`<Noun>DeleteInput`: the `id` of the `noun` to delete, and nothing else (`description`
    says what goes with it); `deleted_payload(noun)` is its payload."""
    return id_input(f"{_pascal(noun)}DeleteInput", description, f"The {noun} to delete.")


def archive_input(noun: str) -> type:
    """`<Noun>ArchiveInput`: the `id` of the `noun` to archive or unarchive, for
    `archive_mutations`."""
    described = f"The {noun} to archive or unarchive."
    name = f"{_pascal(noun)}ArchiveInput"
    return strawberry.input(idempotent(_id_only(name, described)), description=described)


def _id_only(name: str, description: str) -> type:
    """The class `name` of an input that names one object: a field `id`, so described."""
    return _class(name, {"id": (strawberry.ID, strawberry.field(description=description))})


def _class(name: str, fields: dict[str, tuple[Any, Any]], **attributes: Any) -> type:
    """The plain class `name` with `fields`, each (annotation, Strawberry field), in their order,
    and `attributes`, for `strawberry.input` or `strawberry.type` to make a GraphQL type of."""
    namespace: dict[str, Any] = {"__annotations__": {}, "__qualname__": name, **attributes}
    for field_name, (annotation, field) in fields.items():
        namespace["__annotations__"][field_name] = annotation
        namespace[field_name] = field
    return type(name, (), namespace)


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
    cls = _class(
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
            _field_name(type_name): node_field(
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
    input_class = _class(
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
        **{f"{_field_name(type_name)}s": reordered},
    )


def deleted_payload(noun: str) -> type:
    """`<Noun>DeletePayload`: the `id` of the `noun` a mutation deleted, in its field
    `deleted<Noun>Id`."""
    return payload_type(
        f"{_pascal(noun)}DeletePayload",
        f"The {noun} deleted, or why it was not.",
        **{f"deleted_{noun.replace(' ', '_')}_id": gone_id(noun)},
    )


def _pascal(noun: str) -> str:
    """`workflow state`: `WorkflowState`."""
    return "".join(word.capitalize() for word in noun.split())


def _type_name(of: Any) -> str:
    return str(of.type_name if isinstance(of, LazyType) else of.__name__)


def _field_name(type_name: str) -> str:
    """`WorkflowState`: `workflow_state`."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in type_name).lstrip("_")


def mutation(
    use_case: Callable[[Context, Any], Awaitable[Outcome]],
    input_type: type,
    payload_class: type,
    *,
    description: str,
) -> Any:
    """A root mutation field, declared once: its `input: input_type` argument, its nullable
    `payload_class`, and the mapping of the use case's outcome into it (see `payload`)."""

    async def resolve(self: Any, info: Info, input: Any) -> Any:
        return payload(payload_class, await use_case(info.context, input))

    resolve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Info),
            inspect.Parameter(
                "input", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=input_type
            ),
        ],
        return_annotation=payload_class | None,
    )
    return strawberry.mutation(resolver=resolve, description=description)


def archive_mutations(
    set_archived: Callable[..., Awaitable[Outcome]],
    input_type: type,
    payload_class: type,
    *,
    archive: str,
    unarchive: str,
) -> tuple[Any, Any]:
    """The `<noun>Archive` and `<noun>Unarchive` fields, described by `archive` and `unarchive`:
    one use case, `set_archived(context, input, archived=...)`, serves both."""
    return (
        mutation(
            partial(set_archived, archived=True), input_type, payload_class, description=archive
        ),
        mutation(
            partial(set_archived, archived=False), input_type, payload_class, description=unarchive
        ),
    )


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
