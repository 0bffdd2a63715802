"""What every mutation's input and payload share: payloads made from what the use cases return
(`resolvers.mutations.Outcome`), and descriptions of common input fields."""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry

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


def gone_id(noun: str) -> Any:
    """A payload's field giving the `id` of the `noun` the mutation deleted."""
    return strawberry.field(
        default=None,
        description=f"The `id` of the {noun}, which no longer exists; null when `errors` is "
        "not empty.",
    )


def mutation(
    use_case: Callable[[Context, Any], Awaitable[Outcome]],
    input_type: type,
    payload_type: type,
    *,
    description: str,
    **to_node: Callable[[Any], Any],
) -> Any:
    """A root mutation field, declared once: its `input: input_type` argument, its nullable
    `payload_type`, and the mapping of the use case's outcome into it (see `payload`)."""

    async def resolve(self: Any, info: Info, input: Any) -> Any:
        return payload(payload_type, await use_case(info.context, input), **to_node)

    resolve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Info),
            inspect.Parameter(
                "input", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=input_type
            ),
        ],
        return_annotation=payload_type | None,
    )
    return strawberry.mutation(resolver=resolve, description=description)


def payload(
    cls: Callable[..., PayloadType], outcome: Outcome, **to_node: Callable[[Any], Any]
) -> PayloadType:
    """`cls` with the outcome's errors and values; a record (a row, or a list of rows) goes
    through its field's `to_node` mapper, plain values (IDs, secrets, times) as they are."""
    values = {}
    for name, value in outcome.values.items():
        mapper = to_node.get(name)
        if mapper is not None and value is not None:
            value = [mapper(item) for item in value] if isinstance(value, list) else mapper(value)
        elif not isinstance(value, str | datetime | None):
            raise TypeError(f"{name!r} holds a record: name its mapper")
        values[name] = value
    return cls(errors=[UserError.from_record(error) for error in outcome.errors], **values)
