"""Tiny inline Strawberry schemas run through both executors: Backlog's level executor
(`execution.engine.LevelExecutionContext`) and graphql-core's own, the reference."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

import strawberry

from execution.engine import LevelExecutionContext


@dataclass(frozen=True)
class Answer:
    """What one executor answered: `data` and the errors as (message, path) in reported order."""

    data: Any
    errors: list[tuple[str, list[str | int] | None]]

    @property
    def data_text(self) -> str:
        return json.dumps(self.data)  # key order kept: the field order must match too


class QuietSchema(strawberry.Schema):
    """Errors are what the tests assert on; Strawberry's default would log each one."""

    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        pass


def schemas(query: type, *, types: tuple[type, ...] = ()) -> tuple[strawberry.Schema, ...]:
    """The same schema twice: run by level (first) and by graphql-core (second)."""
    level = QuietSchema(
        query=query, types=list(types), execution_context_class=LevelExecutionContext
    )
    plain = QuietSchema(query=query, types=list(types))
    return level, plain


Error = TypeVar("Error")


def depth(error: tuple[Any, list[str | int] | None]) -> int:
    return len(error[1] or [])


def level_order(
    errors: list[tuple[Error, list[str | int] | None]],
) -> list[tuple[Error, list[str | int] | None]]:
    """Depth-first errors (graphql-core's order), each with its path, as the level executor
    reports them: level by level, and within a level in the depth-first order (a stable sort by
    path length)."""
    return sorted(errors, key=depth)


async def answer(
    schema: strawberry.Schema,
    document: str,
    variables: dict[str, Any] | None = None,
    context: Any = None,
) -> Answer:
    result = await schema.execute(document, variable_values=variables, context_value=context)
    errors = [(error.message, error.path) for error in result.errors or []]
    return Answer(data=result.data, errors=errors)


async def both(
    query: type,
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    types: tuple[type, ...] = (),
    context: Any = None,
    errors_in_level_order: bool = False,
) -> Answer:
    """Runs `document` through both executors, asserts they answer the same (data byte for
    byte, errors in the same order) and returns the answer.

    The one known difference: under batched fields the level executor meets errors level by
    level, where graphql-core goes depth first. With `errors_in_level_order`, the errors must be
    the same ones, the reference's in depth-first order and the level executor's in
    `level_order` of them (and the orders must really differ, or the flag is stale)."""
    level, plain = schemas(query, types=types)
    by_level = await answer(level, document, variables, context)
    reference = await answer(plain, document, variables, context)
    assert by_level.data_text == reference.data_text, (by_level, reference)
    if errors_in_level_order:
        assert by_level.errors != reference.errors, "the executors agree now: drop the flag"
        assert by_level.errors == level_order(reference.errors), (by_level, reference)
    else:
        assert by_level.errors == reference.errors, (by_level, reference)
    return by_level
