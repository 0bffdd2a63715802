"""Lists on both executors (graphql-core's `tests/execution/test_lists.py` scenarios): each of
`[T]`, `[T]!`, `[T!]` and `[T!]!` holding values, a null item, an item that cannot be serialized,
or being null itself, or its resolver failing; returned by a plain resolver and by a batch
resolver."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import strawberry

from execution.batching import batched, resolve_one
from tests.support.executors import both


class Failure(Exception):
    pass


CONTENTS: dict[str, Any] = {
    "values": [1, 2],
    "null item": [1, None],
    "bad item": [1, "x"],
    "null list": None,
    "failing list": Failure("bad list"),
}


def _value(name: str) -> Any:
    contents = CONTENTS[name]
    if isinstance(contents, Exception):
        raise contents
    return contents


def _contents(parents: Sequence[Case], context: Any) -> list[Any]:
    return [CONTENTS[parent.name] for parent in parents]


@strawberry.type
class Numbers:
    """One list field per nullability, each reading the case's contents."""

    name: strawberry.Private[str]

    @strawberry.field
    def nullable_of_nullable(self) -> list[int | None] | None:
        return _value(self.name)

    @strawberry.field
    def non_null_of_nullable(self) -> list[int | None]:
        return _value(self.name)

    @strawberry.field
    def nullable_of_non_null(self) -> list[int] | None:
        return _value(self.name)

    @strawberry.field
    def non_null_of_non_null(self) -> list[int]:
        return _value(self.name)


@strawberry.type
class Case:
    name: str

    @strawberry.field
    def numbers(self) -> Numbers:
        return Numbers(name=self.name)

    @strawberry.field(metadata=batched(_contents))
    async def batched_nullable(self, info: strawberry.Info) -> list[int | None] | None:
        return await resolve_one(_contents, self, info)

    @strawberry.field(metadata=batched(_contents))
    async def batched_non_null_of_non_null(self, info: strawberry.Info) -> list[int] | None:
        return await resolve_one(_contents, self, info)


@strawberry.type
class Query:
    @strawberry.field
    def cases(self, names: list[str]) -> list[Case | None]:
        return [Case(name=name) for name in names]


FIELDS = ["nullableOfNullable", "nonNullOfNullable", "nullableOfNonNull", "nonNullOfNonNull"]
LIST_IS_NULL = "the list is null"
CASE_IS_NULL = "the case is null"  # the list cannot be null: through `numbers` (non-null)

# What each list answers (or where its null lands), and the errors' paths below the field.
EXPECTED: dict[tuple[str, str], tuple[Any, list[list[int]]]] = {
    **{("values", field): ([1, 2], []) for field in FIELDS},
    ("null item", "nullableOfNullable"): ([1, None], []),
    ("null item", "nonNullOfNullable"): ([1, None], []),
    ("null item", "nullableOfNonNull"): (LIST_IS_NULL, [[1]]),
    ("null item", "nonNullOfNonNull"): (CASE_IS_NULL, [[1]]),
    ("bad item", "nullableOfNullable"): ([1, None], [[1]]),
    ("bad item", "nonNullOfNullable"): ([1, None], [[1]]),
    ("bad item", "nullableOfNonNull"): (LIST_IS_NULL, [[1]]),
    ("bad item", "nonNullOfNonNull"): (CASE_IS_NULL, [[1]]),
    ("null list", "nullableOfNullable"): (None, []),
    ("null list", "nonNullOfNullable"): (CASE_IS_NULL, [[]]),
    ("null list", "nullableOfNonNull"): (None, []),
    ("null list", "nonNullOfNonNull"): (CASE_IS_NULL, [[]]),
    ("failing list", "nullableOfNullable"): (LIST_IS_NULL, [[]]),
    ("failing list", "nonNullOfNullable"): (CASE_IS_NULL, [[]]),
    ("failing list", "nullableOfNonNull"): (LIST_IS_NULL, [[]]),
    ("failing list", "nonNullOfNonNull"): (CASE_IS_NULL, [[]]),
}


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("case", list(CONTENTS))
async def test_each_nullability_of_a_list_on_both_executors(case, field):
    document = f'{{ cases(names: ["{case}"]) {{ name numbers {{ {field} }} }} }}'
    answer = await both(Query, document)

    value, error_paths = EXPECTED[case, field]
    if value == CASE_IS_NULL:
        assert answer.data == {"cases": [None]}
    else:
        listed = None if value == LIST_IS_NULL else value
        assert answer.data == {"cases": [{"name": case, "numbers": {field: listed}}]}
    assert [path for _, path in answer.errors] == [
        ["cases", 0, "numbers", field, *below] for below in error_paths
    ]


async def test_a_batched_list_with_a_null_and_a_bad_item():
    document = """{ cases(names: ["values", "null item", "bad item", "null list"]) {
        name batchedNullable } }"""
    answer = await both(Query, document)

    assert answer.data == {
        "cases": [
            {"name": "values", "batchedNullable": [1, 2]},
            {"name": "null item", "batchedNullable": [1, None]},
            {"name": "bad item", "batchedNullable": [1, None]},
            {"name": "null list", "batchedNullable": None},
        ]
    }
    assert answer.errors == [
        ("Int cannot represent non-integer value: 'x'", ["cases", 2, "batchedNullable", 1])
    ]


async def test_a_null_item_in_a_batched_non_null_item_list_nulls_the_list():
    document = """{ cases(names: ["values", "null item", "null list"]) {
        name batchedNonNullOfNonNull } }"""
    answer = await both(Query, document)

    assert answer.data == {
        "cases": [
            {"name": "values", "batchedNonNullOfNonNull": [1, 2]},
            {"name": "null item", "batchedNonNullOfNonNull": None},
            {"name": "null list", "batchedNonNullOfNonNull": None},
        ]
    }
    assert answer.errors == [
        (
            "Cannot return null for non-nullable field Case.batchedNonNullOfNonNull.",
            ["cases", 1, "batchedNonNullOfNonNull", 1],
        )
    ]
