"""What is worked out once per parsed document, kept for the next request that sends it."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

Value = TypeVar("Value")

KEPT_DOCUMENTS = 256
"""How many parsed documents the server keeps (`server.preflight`), and what it keeps for each
of them (plans, validation, costs)."""


class KeptFor(Generic[Value]):
    """Values kept for objects found by their identity: parsed documents and their nodes, which
    stand for a document's text as the server parses each text once per process and reuses the
    document (the schema they were worked out for is `KeptPer`'s owner). Identity is what such
    a lookup can afford: hashing a document walks its whole tree.

    Each entry holds its objects, so that their ids name no other objects while it is kept; past
    `most` entries the least recently used goes.

    >>> kept: KeptFor[str] = KeptFor(most=1)
    >>> a, b = object(), object()
    >>> kept.keep("for a", a)
    'for a'
    >>> kept.get(a), kept.get(b)
    ('for a', None)
    >>> _ = kept.keep("for b", b)
    >>> kept.get(a), kept.get(b)
    (None, 'for b')
    """

    __slots__ = ("_entries", "most")

    def __init__(self, *, most: int) -> None:
        self.most = most
        self._entries: OrderedDict[tuple[int, ...], tuple[tuple[object, ...], Value]] = (
            OrderedDict()
        )

    def get(self, *objects: object) -> Value | None:
        key = tuple(map(id, objects))
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[1]

    def keep(self, value: Value, *objects: object) -> Value:
        self._entries[tuple(map(id, objects))] = (objects, value)
        while len(self._entries) > self.most:
            self._entries.popitem(last=False)
        return value


class KeptPer(Generic[Value]):
    """A `KeptFor` per owner, the schema the values were worked out for, dropped with it.

    A process serves one schema, but the tests build one per app; an entry holding its schema
    would keep every one of them alive (and a full collection of the test run's heap took
    seconds)."""

    __slots__ = ("_by_owner", "most")

    def __init__(self, *, most: int) -> None:
        self.most = most
        self._by_owner: WeakKeyDictionary[Any, KeptFor[Value]] = WeakKeyDictionary()

    def get(self, owner: object, *objects: object) -> Value | None:
        kept = self._by_owner.get(owner)
        return None if kept is None else kept.get(*objects)

    def keep(self, value: Value, owner: object, *objects: object) -> Value:
        kept = self._by_owner.get(owner)
        if kept is None:
            kept = self._by_owner[owner] = KeptFor(most=self.most)
        return kept.keep(value, *objects)
