"""Abstract types on both executors (graphql-core's `tests/execution/test_abstract.py` and
`test_union_interface.py` scenarios): interfaces and unions resolved to their object types,
fragments on each, `__typename`, values of no member type, and abstract values returned by a
batch resolver."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, cast

import strawberry

from execution.batching import batched, resolve_one
from tests.support.executors import both


@strawberry.interface
class Pet:
    name: str


@strawberry.type
class Dog(Pet):
    barks: bool


@strawberry.type
class Cat(Pet):
    meows: bool


@strawberry.type
class Human:
    name: str


@strawberry.type
class Stone:
    """In no union or interface of the schema's fields below."""

    weight: int


Being = Annotated[Dog | Cat | Human, strawberry.union("Being")]

PETS: list[Pet] = [Dog(name="Odie", barks=True), Cat(name="Garfield", meows=False)]


def _friends(parents: Sequence[Owner], context: Any) -> list[Any]:
    return [[PETS[1], Human(name="Jon")] if p.name == "Liz" else [PETS[0]] for p in parents]


def _best_pet(parents: Sequence[Owner], context: Any) -> list[Any]:
    return [PETS[0] if p.name == "Liz" else PETS[1] for p in parents]


@strawberry.type
class Owner:
    name: str

    @strawberry.field(metadata=batched(_friends))
    async def friends(self, info: strawberry.Info) -> list[Being]:
        return await resolve_one(_friends, self, info)

    @strawberry.field(metadata=batched(_best_pet))
    async def best_pet(self, info: strawberry.Info) -> Pet:
        return await resolve_one(_best_pet, self, info)


@strawberry.type
class Query:
    @strawberry.field
    def pets(self) -> list[Pet]:
        return PETS

    @strawberry.field
    async def async_pets(self) -> list[Pet]:
        return PETS

    @strawberry.field
    def beings(self) -> list[Being]:
        return [*PETS, Human(name="Jon")]

    @strawberry.field
    def owners(self) -> list[Owner]:
        return [Owner(name="Liz"), Owner(name="Jon")]

    @strawberry.field
    def odd_pets(self) -> list[Pet | None]:
        return [PETS[0], cast(Pet, Stone(weight=3))]  # not a Pet: the executor must refuse it


TYPES = (Dog, Cat, Human)

PET_FIELDS = "__typename name ... on Dog { barks } ... on Cat { meows }"


async def test_an_interface_resolves_each_value_to_its_object_type():
    answer = await both(
        Query, f"{{ pets {{ {PET_FIELDS} }} asyncPets {{ {PET_FIELDS} }} }}", types=TYPES
    )

    pets = [
        {"__typename": "Dog", "name": "Odie", "barks": True},
        {"__typename": "Cat", "name": "Garfield", "meows": False},
    ]
    assert answer.data == {"pets": pets, "asyncPets": pets}
    assert answer.errors == []


async def test_a_union_resolves_each_member_and_skips_fragments_of_others():
    document = """{ beings { __typename ... on Pet { name } ... on Dog { barks }
        ... on Human { name } } }"""
    answer = await both(Query, document, types=TYPES)

    assert answer.data == {
        "beings": [
            {"__typename": "Dog", "name": "Odie", "barks": True},
            {"__typename": "Cat", "name": "Garfield"},
            {"__typename": "Human", "name": "Jon"},
        ]
    }
    assert answer.errors == []


async def test_abstract_values_from_a_batch_resolver():
    document = """{ owners { name
        friends { __typename ... on Cat { name meows } ... on Dog { name } ... on Human { name } }
        bestPet { __typename name ... on Dog { barks } } } }"""
    answer = await both(Query, document, types=TYPES)

    assert answer.data == {
        "owners": [
            {
                "name": "Liz",
                "friends": [
                    {"__typename": "Cat", "name": "Garfield", "meows": False},
                    {"__typename": "Human", "name": "Jon"},
                ],
                "bestPet": {"__typename": "Dog", "name": "Odie", "barks": True},
            },
            {
                "name": "Jon",
                "friends": [{"__typename": "Dog", "name": "Odie"}],
                "bestPet": {"__typename": "Cat", "name": "Garfield"},
            },
        ]
    }
    assert answer.errors == []


async def test_a_value_of_no_member_type_is_a_field_error():
    answer = await both(Query, "{ oddPets { __typename name } }", types=(*TYPES, Stone))

    assert answer.data == {"oddPets": [{"__typename": "Dog", "name": "Odie"}, None]}
    assert [path for _, path in answer.errors] == [["oddPets", 1]]
