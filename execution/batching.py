"""Batch resolvers: one call resolves a field for every parent object at one level of a query.

A relation field (an issue's assignee, its comments) is written once, as an async function over
a list of parents. The engine (`execution.engine`) calls it once per field and query level with
all the parents there; plain per-object execution calls it through the field's own resolver with
one parent, and the request's DataLoaders batch those calls instead. Both paths run the same
function, so they cannot disagree about what a field means.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

BATCH = "backlog.batch"

Parent = TypeVar("Parent")
BatchResolver = Callable[..., Awaitable[Sequence[Any]] | Sequence[Any]]
"""`(parents, context, **arguments) -> one result per parent` (an Exception fails that parent)."""


def batched(resolver: BatchResolver) -> dict[str, Any]:
    """Field metadata naming the field's batch resolver: `strawberry.field(metadata=batched(f))`."""
    return {BATCH: resolver}


def batch_resolver_of(field: Any) -> BatchResolver | None:
    metadata = getattr(field, "metadata", None) or {}
    return metadata.get(BATCH)


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
