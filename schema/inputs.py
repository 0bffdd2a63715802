"""What the inputs of mutations share: the descriptions of common fields (the text limits in
the words of the constants `resolvers.inputs` and `auth.passwords` check them with; and of the
`version` an `expectedVersion` is compared with), `changed_if_given` and `idempotent`;
`NewInWorkspace` and `NewNamedInWorkspace`, the first fields of the inputs that create an object
of a workspace; `id_input`, which makes an input that only names one object (`archive_input` the
one naming an object to archive or unarchive; a delete's comes with its payload from
`schema.payloads.delete_types`); `class_with_fields`, which makes the classes of such types."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

import strawberry

from auth import passwords
from db import idempotency
from resolvers.inputs import MAX_BODY_BYTES, MAX_DISPLAY_NAME, MAX_NAME, MAX_TITLE
from resolvers.mutations import MAX_IDEMPOTENCY_KEY
from schema.names import pascal_case

# Input fields every mutation that takes them describes alike.
IDEMPOTENCY_KEY = (
    f"Any string up to {MAX_IDEMPOTENCY_KEY} characters, unique per intended change: a retry "
    f"with the same key within {idempotency.LIFETIME // timedelta(hours=1)} hours returns the "
    "first attempt's result without doing the work again."
)
EXPECTED_VERSION = (
    "The `version` you last read: if the object has changed since, nothing is written and the "
    "payload has a CONFLICT error with the current object."
)
VERSION = (
    "1 when created, plus one per change: give it as `expectedVersion` to its update "
    "(`issueUpdate`, `commentUpdate`), so that a concurrent change is not overwritten."
)
"""The `version` field of the objects whose updates take an `expectedVersion`."""

# The text limits, as every field they apply to states them.
TITLE = f"1 to {MAX_TITLE} characters."
NAME = f"1 to {MAX_NAME} characters"
"""Labels', workflow states' and API tokens' names: a sentence goes on from it."""
UNIQUE_NAME = f"{NAME}, unique in the workspace"
RENAME_IN_WORKSPACE = f"{UNIQUE_NAME}; cannot be null."
DISPLAY_NAME = f"1 to {MAX_DISPLAY_NAME} characters"
"""The names people see (users, workspaces, projects): a sentence goes on from it."""
SHOWN_NAME = f"What people see: {DISPLAY_NAME}."
TEXT_KIB = MAX_BODY_BYTES // 1024
BODY = f"Markdown, not blank, at most {TEXT_KIB} KiB."
DESCRIPTION = f"Markdown, at most {TEXT_KIB} KiB."
NEW_PASSWORD = f"{passwords.MIN_LENGTH} to {passwords.MAX_LENGTH} characters."


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

    name: str = strawberry.field(description=f"{UNIQUE_NAME}.")


def changed_if_given(description: str) -> Any:
    """A field of an update's input that changes nothing when left out (`strawberry.UNSET`,
    told apart from an explicit `null`)."""
    return strawberry.field(default=strawberry.UNSET, description=description)


def id_input(name: str, description: str, id_description: str) -> type:
    """The input `name` of a mutation that only names one object: its field `id`, described by
    `id_description` (which objects it may name)."""
    return strawberry.input(_id_only(name, id_description), description=description)


def archive_input(noun: str) -> type:
    """`<Noun>ArchiveInput`: the `id` of the `noun` to archive or unarchive, for
    `archive_mutations`."""
    described = f"The {noun} to archive or unarchive."
    name = f"{pascal_case(noun)}ArchiveInput"
    return strawberry.input(idempotent(_id_only(name, described)), description=described)


def _id_only(name: str, description: str) -> type:
    """The class `name` of an input that names one object: a field `id`, so described."""
    return class_with_fields(
        name, {"id": (strawberry.ID, strawberry.field(description=description))}
    )


def class_with_fields(name: str, fields: dict[str, tuple[Any, Any]], **attributes: Any) -> type:
    """The plain class `name` with `fields`, each (annotation, Strawberry field), in their order,
    and `attributes`, for `strawberry.input` or `strawberry.type` to make a GraphQL type of."""
    namespace: dict[str, Any] = {"__annotations__": {}, "__qualname__": name, **attributes}
    for field_name, (annotation, field) in fields.items():
        namespace["__annotations__"][field_name] = annotation
        namespace[field_name] = field
    return type(name, (), namespace)
