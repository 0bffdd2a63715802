"""Batch resolvers: one call resolves a field for every parent object at one level of a query.

A relation field (an issue's assignee, its comments) is written once, as an async function over
a list of parents. The engine (`execution.engine`) calls it once per field and query level with
all the parents there; plain per-object execution calls it through the field's own resolver with
one parent, and the request's DataLoaders batch those calls instead. Both paths run the same
function, so they cannot disagree about what a field means.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

BATCH = "backlog.batch"
LINK = "backlog_link"
JOINS = "joins"

Parent = TypeVar("Parent")
BatchResolver = Callable[..., Awaitable[Sequence[Any]] | Sequence[Any]]
"""`(parents, context, **arguments) -> one result per parent` (an Exception fails that parent)."""


def batched(resolver: BatchResolver) -> dict[str, Any]:
    """Field metadata naming the field's batch resolver: `strawberry.field(metadata=batched(f))`."""
    return {BATCH: resolver}


def batch_resolver_of(field: Any) -> BatchResolver | None:
    metadata = getattr(field, "metadata", None) or {}
    return metadata.get(BATCH)


# To-one links read with their parents. A batch resolver of a to-one link (an issue's state)
# carries a `link`, an opaque description of it; a batch resolver of a list (a workspace's issues)
# that declares a keyword parameter `joins` is given the links selected on its items, so that it
# can read those rows in the statement of its page instead of a statement each, a level later.
# Only an optimization: a resolver given no links answers the same.


Resolver = TypeVar("Resolver", bound=BatchResolver)


def linked(resolver: Resolver, link: Hashable) -> Resolver:
    """Marks `resolver` as the batch resolver of the to-one link `link`."""
    setattr(resolver, LINK, link)
    return resolver


def link_of(resolver: BatchResolver | None) -> Hashable | None:
    return getattr(resolver, LINK, None)


def takes_joins(resolver: BatchResolver) -> bool:
    """Whether `resolver` is to be given the links selected on its items (a `joins` argument)."""
    try:
        return JOINS in inspect.signature(resolver).parameters
    except (TypeError, ValueError):
        return False


async def resolve_one(resolver: BatchResolver, parent: Any, info: Any, **arguments: Any) -> Any:
    """The field's value for one parent, as plain per-object execution asks for it."""
    return _single(await _awaited(resolver([parent], info.context, **arguments)))


def _single(results: Sequence[Any]) -> Any:
    (result,) = results
    if isinstance(result, Exception):
        raise result
    return result


async def _awaited(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
