"""What is worked out once per parsed document, kept for the next request that sends it."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

Value = TypeVar("Value")

KEPT_DOCUMENTS = 256
"""How many parsed documents the server keeps (`server.preflight`), and what it keeps for each
of them (plans, validation, costs)."""


class KeptFor(Generic[Value]):
    """Values kept for objects found by their identity: parsed documents, their nodes and the
    schema, which stand for a document's text as the server parses each text once per process
    and reuses the document. Identity is what such a lookup can afford: hashing a document
    walks its whole tree.

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
