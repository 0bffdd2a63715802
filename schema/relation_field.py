"""Relations, declared once: a relation's field made from its batch function."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, TypedDict, get_type_hints

import strawberry

from execution.batching import JOINS, batched, resolve_one
from resolvers.context import Info

if TYPE_CHECKING:
    from collections.abc import Callable


class PageArguments(TypedDict, total=False):
    """A connection's paging arguments: a batch function takes them as `**page:
    Unpack[PageArguments]`, and its field as its last arguments, each null by default."""

    first: int | None
    after: str | None
    last: int | None
    before: str | None


_PAGE_PARAMETERS = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
    for name, annotation in get_type_hints(PageArguments).items()
]


def relation(batch: Callable[..., Any], returns: Any, *, description: str) -> Any:
    """The field of a relation, made from its batch function `batch(parents, context,
    **arguments)`: the field's GraphQL arguments are `batch`'s keyword parameters (annotations,
    defaults and order; `**page` stands for the `PageArguments`), and both execution paths run
    `batch` (the level executor with every parent of a level, per-object execution through a
    resolver that passes one). So a relation cannot lose its batched path, nor its two paths
    disagree."""
    parameters = []
    for parameter in list(inspect.signature(batch).parameters.values())[2:]:
        if parameter.name == JOINS:
            continue  # given by the level executor, not by the client (`execution.batching`)
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            parameters += _PAGE_PARAMETERS
        else:
            parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))

    async def resolve(self: Any, info: Info, **arguments: Any) -> Any:
        return await resolve_one(batch, self, info, **arguments)

    # Strawberry reads annotations written as text in the module of the resolver.
    resolve.__module__ = batch.__module__
    resolve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Info),
            *parameters,
        ],
        return_annotation=returns,
    )
    return strawberry.field(resolver=resolve, description=description, metadata=batched(batch))
