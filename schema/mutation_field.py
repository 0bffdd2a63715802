"""The root mutation fields: `mutation`, and `archive_mutations` for an archive/unarchive pair
(the relations' counterpart is `schema.relation_field`)."""

from __future__ import annotations

import inspect
from functools import partial
from typing import TYPE_CHECKING, Any

import strawberry

from resolvers.context import Info
from schema.payloads import payload

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from resolvers.context import Context
    from resolvers.mutations import Outcome


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
