"""Non-null propagation and error order, on both executors (graphql-core's
`tests/execution/test_nonnull.py` scenarios): a field error nulls the nearest nullable position
at or above the field; null in a non-null position is an error; errors under a position already
nulled are dropped.

The schema: items whose fields succeed, fail or return null, each written three ways (a sync
resolver, an async one, and a batch resolver, which the level executor calls once per level), so
that every rule is checked on each path of the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pytest
import strawberry

from execution.batching import batched, resolve_one
from tests.support.executors import both, schemas


class Failure(Exception):
    pass


def _fail(parents: Sequence[Item], context: Any) -> list[Any]:
    return [Failure(f"failed for {parent.id}") for parent in parents]


def _null(parents: Sequence[Item], context: Any) -> list[Any]:
    return [None for _ in parents]


def _name(parents: Sequence[Item], context: Any) -> list[Any]:
    return [f"item {parent.id}" for parent in parents]


async def _child(parents: Sequence[Item], context: Any) -> list[Any]:
    return [Item(id=parent.id * 10) for parent in parents]


def _fail_odd(parents: Sequence[Item], context: Any) -> list[Any]:
    return [
        Failure(f"odd {parent.id}") if parent.id % 2 else f"even {parent.id}" for parent in parents
    ]


@strawberry.type
class Item:
    id: int

    # Nullable fields that fail: only the field is nulled.
    @strawberry.field
    def sync_error(self) -> str | None:
        raise Failure(f"failed for {self.id}")

    @strawberry.field
    async def async_error(self) -> str | None:
        raise Failure(f"failed for {self.id}")

    @strawberry.field(metadata=batched(_fail))
    async def batched_error(self, info: strawberry.Info) -> str | None:
        return await resolve_one(_fail, self, info)

    @strawberry.field(metadata=batched(_fail_odd))
    async def batched_odd_error(self, info: strawberry.Info) -> str | None:
        return await resolve_one(_fail_odd, self, info)

    # Non-null fields that fail or return null: the nearest nullable position is nulled.
    @strawberry.field
    def sync_non_null_error(self) -> str:
        raise Failure(f"failed for {self.id}")

    @strawberry.field
    async def async_non_null_error(self) -> str:
        raise Failure(f"failed for {self.id}")

    @strawberry.field(metadata=batched(_fail))
    async def batched_non_null_error(self, info: strawberry.Info) -> str:
        return await resolve_one(_fail, self, info)

    @strawberry.field
    def sync_non_null_null(self) -> str:
        return cast(str, None)  # what a faulty resolver does

    @strawberry.field(metadata=batched(_null))
    async def batched_non_null_null(self, info: strawberry.Info) -> str:
        return await resolve_one(_null, self, info)

    @strawberry.field(metadata=batched(_name))
    async def name(self, info: strawberry.Info) -> str:
        return await resolve_one(_name, self, info)

    # Children, nullable and not, plain and batched.
    @strawberry.field
    def child(self) -> Item | None:
        return Item(id=self.id * 10)

    @strawberry.field
    def non_null_child(self) -> Item:
        return Item(id=self.id * 10)

    @strawberry.field(metadata=batched(_child))
    async def batched_child(self, info: strawberry.Info) -> Item | None:
        return await resolve_one(_child, self, info)

    @strawberry.field(metadata=batched(_child))
    async def batched_non_null_child(self, info: strawberry.Info) -> Item:
        return await resolve_one(_child, self, info)


ITEMS = [Item(id=n) for n in (1, 2, 3)]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        """[Item!]!: a failure in an item reaches the root."""
        return ITEMS

    @strawberry.field
    def nullable_items(self) -> list[Item | None] | None:
        """[Item]: a failure in an item nulls that item."""
        return ITEMS

    @strawberry.field
    def item(self) -> Item | None:
        return ITEMS[0]

    @strawberry.field
    def non_null_item(self) -> Item:
        return ITEMS[0]


ERROR_FIELDS = ["syncError", "asyncError", "batchedError"]
NON_NULL_ERROR_FIELDS = ["syncNonNullError", "asyncNonNullError", "batchedNonNullError"]
NON_NULL_NULL_FIELDS = ["syncNonNullNull", "batchedNonNullNull"]
CHILD_FIELDS = ["child", "batchedChild"]
NON_NULL_CHILD_FIELDS = ["nonNullChild", "batchedNonNullChild"]


@pytest.mark.parametrize("field", ERROR_FIELDS)
async def test_a_nullable_field_that_fails_is_null_and_reported(field):
    answer = await both(Query, f"{{ items {{ id {field} }} }}")

    assert answer.data == {"items": [{"id": n, field: None} for n in (1, 2, 3)]}
    assert answer.errors == [
        (f"failed for {n}", ["items", i, field]) for i, n in enumerate((1, 2, 3))
    ]


@pytest.mark.parametrize("field", NON_NULL_ERROR_FIELDS)
async def test_a_non_null_field_that_fails_nulls_its_nullable_parent(field):
    answer = await both(Query, f"{{ nullableItems {{ id {field} }} }}")

    assert answer.data == {"nullableItems": [None, None, None]}
    assert answer.errors == [
        (f"failed for {n}", ["nullableItems", i, field]) for i, n in enumerate((1, 2, 3))
    ]


@pytest.mark.parametrize("field", NON_NULL_ERROR_FIELDS)
async def test_a_failure_with_no_nullable_position_above_nulls_data_and_is_reported_once(field):
    answer = await both(Query, f"{{ items {{ id {field} }} }}")

    assert answer.data is None
    assert answer.errors == [("failed for 1", ["items", 0, field])]


@pytest.mark.parametrize("field", NON_NULL_NULL_FIELDS)
async def test_null_in_a_non_null_position_is_an_error(field):
    answer = await both(Query, f"{{ item {{ id {field} }} nonNullItem {{ id }} }}")

    assert answer.data == {"item": None, "nonNullItem": {"id": 1}}
    assert answer.errors == [
        (f"Cannot return null for non-nullable field Item.{field}.", ["item", field])
    ]


@pytest.mark.parametrize("child", NON_NULL_CHILD_FIELDS)
@pytest.mark.parametrize("field", NON_NULL_ERROR_FIELDS)
async def test_propagation_crosses_non_null_children_to_the_nearest_nullable_one(child, field):
    document = f"{{ item {{ id child {{ id {child} {{ id {child} {{ {field} }} }} }} }} }}"
    answer = await both(Query, document)

    assert answer.data == {"item": {"id": 1, "child": None}}
    assert answer.errors == [("failed for 1000", ["item", "child", child, child, field])]


@pytest.mark.parametrize("child", CHILD_FIELDS)
async def test_siblings_of_a_nulled_position_keep_their_values(child):
    document = f"{{ nullableItems {{ id name {child} {{ id batchedOddError }} }} }}"
    answer = await both(Query, document)

    assert answer.data == {
        "nullableItems": [
            {
                "id": n,
                "name": f"item {n}",
                child: {"id": n * 10, "batchedOddError": f"even {n * 10}"},
            }
            for n in (1, 2, 3)
        ]
    }
    assert answer.errors == []


async def test_odd_items_fail_and_even_ones_answer_in_one_batch():
    answer = await both(Query, "{ nullableItems { id batchedOddError } }")

    assert answer.data == {
        "nullableItems": [
            {"id": 1, "batchedOddError": None},
            {"id": 2, "batchedOddError": "even 2"},
            {"id": 3, "batchedOddError": None},
        ]
    }
    assert answer.errors == [
        ("odd 1", ["nullableItems", 0, "batchedOddError"]),
        ("odd 3", ["nullableItems", 2, "batchedOddError"]),
    ]


async def test_errors_under_a_nulled_position_are_dropped():
    # Each item's non-null child fails at once and nulls the item; the item's own (async)
    # failures, met later below the nulled position, are not reported.
    document = "{ nullableItems { batchedError nonNullChild { syncNonNullError } } }"
    answer = await both(Query, document)

    assert answer.data == {"nullableItems": [None, None, None]}
    assert answer.errors == [
        (f"failed for {n * 10}", ["nullableItems", i, "nonNullChild", "syncNonNullError"])
        for i, n in enumerate((1, 2, 3))
    ]


async def test_errors_met_before_their_position_is_nulled_are_kept():
    document = "{ nullableItems { syncError batchedNonNullChild { batchedNonNullError } } }"
    answer = await both(Query, document)

    assert answer.data == {"nullableItems": [None, None, None]}
    assert answer.errors == [
        *((f"failed for {n}", ["nullableItems", i, "syncError"]) for i, n in enumerate((1, 2, 3))),
        *(
            (
                f"failed for {n * 10}",
                ["nullableItems", i, "batchedNonNullChild", "batchedNonNullError"],
            )
            for i, n in enumerate((1, 2, 3))
        ),
    ]


async def test_once_data_is_null_later_failures_are_dropped():
    document = "{ items { batchedError batchedNonNullChild { batchedNonNullError } } }"
    answer = await both(Query, document)

    assert answer.data is None
    assert answer.errors == [
        ("failed for 1", ["items", 0, "batchedError"]),
        ("failed for 2", ["items", 1, "batchedError"]),
        ("failed for 3", ["items", 2, "batchedError"]),
        ("failed for 10", ["items", 0, "batchedNonNullChild", "batchedNonNullError"]),
    ]


# ---- error order ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["syncError", "asyncError"])
async def test_errors_of_plain_fields_come_depth_first_on_both(field):
    answer = await both(Query, f"{{ items {{ {field} child {{ {field} }} }} }}")

    assert answer.errors == [
        ("failed for 1", ["items", 0, field]),
        ("failed for 10", ["items", 0, "child", field]),
        ("failed for 2", ["items", 1, field]),
        ("failed for 20", ["items", 1, "child", field]),
        ("failed for 3", ["items", 2, field]),
        ("failed for 30", ["items", 2, "child", field]),
    ]


async def test_errors_under_batched_fields_come_level_by_level():
    """The known difference: graphql-core reports these depth first; the level executor meets
    them, and reports them, one level at a time. Same errors, same data."""
    document = "{ items { batchedError batchedChild { batchedError } } }"
    answer = await both(Query, document, errors_in_level_order=True)

    assert answer.errors == [
        ("failed for 1", ["items", 0, "batchedError"]),
        ("failed for 2", ["items", 1, "batchedError"]),
        ("failed for 3", ["items", 2, "batchedError"]),
        ("failed for 10", ["items", 0, "batchedChild", "batchedError"]),
        ("failed for 20", ["items", 1, "batchedChild", "batchedError"]),
        ("failed for 30", ["items", 2, "batchedChild", "batchedError"]),
    ]
    _, plain = schemas(Query)
    reference = await plain.execute(document)
    assert [error.path for error in reference.errors or []] == [
        ["items", 0, "batchedError"],
        ["items", 0, "batchedChild", "batchedError"],
        ["items", 1, "batchedError"],
        ["items", 1, "batchedChild", "batchedError"],
        ["items", 2, "batchedError"],
        ["items", 2, "batchedChild", "batchedError"],
    ]
