"""Selections compiled by the level executor (`execution.engine._compile`): only those of plans
kept across requests, and they answer as graphql-core does, leaves of every kind and failure
included."""

from __future__ import annotations

import enum
import math
from datetime import UTC, datetime, timedelta

import pytest
import strawberry

from execution import engine
from execution.graphql_internals import graphql_schema
from server.preflight import DocumentCache
from tests.support.executors import QuietSchema, answer


@strawberry.enum
class Tone(enum.Enum):
    WARM = "warm"
    COLD = "cold"


class Odd(str):
    """A `str` subclass: not taken as it is by the inline test, serialized as graphql-core does."""


@strawberry.type
class Item:
    n: int
    name: str
    tone: Tone
    flag: bool
    note: str | None
    size: int  # some items hold a value no Int can serialize
    label: str  # one item holds None on this non-null field
    at: datetime | None
    ratio: float  # one item holds a value no Float can serialize

    @strawberry.field
    def double(self) -> int:
        return self.n * 2


def _items() -> list[Item]:
    return [
        Item(
            n=n,
            name=Odd(f"odd {n}") if n % 7 == 0 else f"item {n}",
            tone=Tone.WARM if n % 2 else Tone.COLD,
            flag=n % 3 == 0,
            note=None if n % 5 == 0 else f"note {n}",
            size=2**31 if n == 30 else n,
            label=None if n == 33 else f"label {n}",  # type: ignore[arg-type]
            at=None if n % 4 == 0 else datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n),
            ratio=math.inf if n == 21 else n / 8,
        )
        for n in range(40)
    ]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return _items()  # type: ignore[return-value]


DOCUMENT = (
    """{ items { n name tone flag note size label at ratio double __typename also: name } }"""
)


def _schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    # Parsed once, as the server does, so that the level executor keeps its plans.
    level = QuietSchema(
        query=Query,
        execution_context_class=engine.LevelExecutionContext,
        extensions=[DocumentCache],
    )
    return level, QuietSchema(query=Query)


def _fills(schema: strawberry.Schema) -> list[engine._Fill]:
    kept = engine._OperationPlans.kept(graphql_schema(schema))
    return [
        selection.fill
        for operation in kept.values()
        for root in operation.variants.values()
        for plan in root.plans
        for selection in plan.subplans.values()
        if selection.fill is not None
    ]


async def test_a_kept_selection_is_compiled_and_answers_as_graphql_core():
    level, plain = _schemas()
    expected = await answer(plain, DOCUMENT)
    assert expected.errors  # the bad size and the null label, each nulling its item

    first = await answer(level, DOCUMENT)
    assert _fills(level) == []  # a document met once is not compiled
    second = await answer(level, DOCUMENT)
    third = await answer(level, DOCUMENT)
    [fill] = _fills(level)

    for found in (first, second, third):
        assert found.data_text == expected.data_text
        assert found.errors == expected.errors
    # Not its own global: a dropped plan is freed without the cycle collector.
    assert fill not in fill.__globals__.values()


async def test_a_selection_of_too_many_fields_is_not_compiled(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(engine, "MAX_COMPILED_FIELDS", 3)
    level, plain = _schemas()
    expected = await answer(plain, DOCUMENT)
    for _ in range(3):
        found = await answer(level, DOCUMENT)
        assert (found.data_text, found.errors) == (expected.data_text, expected.errors)
    assert _fills(level) == []
