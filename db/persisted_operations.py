"""The statements behind persisted operations (built once; values are parameters)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import literal_column, select
from sqlalchemy.dialects import postgresql

from db import models
from db.queries import typed_param

if TYPE_CHECKING:
    from sqlalchemy import Insert, Select

    from db.session import Database

persisted_operations = models.table_of(models.PersistedOperation)


@cache
def operation_by_sha256() -> Select[Any]:
    """Parameter `sha256` (hex, lower case): the document and whether it is trusted."""
    table = persisted_operations
    return select(table.c.document, table.c.trusted).where(
        table.c.sha256 == typed_param("sha256", table.c.sha256)
    )


@cache
def operation_register() -> Insert:
    """Parameters `sha256`, `document`: kept untrusted, unless already kept."""
    table = persisted_operations
    return (
        postgresql.insert(table)
        .values(
            sha256=typed_param("sha256", table.c.sha256),
            document=typed_param("document", table.c.document),
        )
        .on_conflict_do_nothing(index_elements=[table.c.sha256])
    )


@cache
def operation_trust() -> Insert:
    """Parameters `sha256`, `document`: kept trusted; returns `inserted` (False: it was kept
    already, now trusted)."""
    table = persisted_operations
    statement = postgresql.insert(table).values(
        sha256=typed_param("sha256", table.c.sha256),
        document=typed_param("document", table.c.document),
        trusted=True,
    )
    return statement.on_conflict_do_update(
        index_elements=[table.c.sha256], set_={"trusted": True}
    ).returning(literal_column("(xmax = 0)").label("inserted"))


@dataclass(frozen=True, slots=True)
class StoredOperation:
    document: str
    trusted: bool


CACHED_OPERATIONS = 1000


class PersistedOperations:
    """The table, with a per-process LRU of hash → stored operation in front (a hash's document
    never changes; only an untrusted one may become trusted, so that is asked again).

    Each lookup or registration runs on a short handle of its own, before the request's own
    handle opens: the stored document's operation decides that handle's transaction."""

    def __init__(self, size: int = CACHED_OPERATIONS) -> None:
        self._size = size
        self._cache: OrderedDict[str, StoredOperation] = OrderedDict()

    async def find(
        self, database: Database, sha256: str, *, trusted_only: bool
    ) -> StoredOperation | None:
        """The operation stored under `sha256`; with `trusted_only`, a cached untrusted one is
        asked again (it may have been pushed since)."""
        cached = self._cache.get(sha256)
        if cached is not None and (cached.trusted or not trusted_only):
            self._cache.move_to_end(sha256)
            return cached
        db = database.request_handle()
        try:
            row = await db.fetch_one(operation_by_sha256(), {"sha256": sha256})
        finally:
            await db.close()
        if row is None:
            return None
        found = StoredOperation(row.document, row.trusted)
        self._remember(sha256, found)
        return found

    async def register(self, database: Database, sha256: str, document: str) -> None:
        """Keeps `document` (whose SHA-256 was checked) untrusted, unless already kept."""
        await database.run_alone(operation_register(), {"sha256": sha256, "document": document})
        self._remember(sha256, StoredOperation(document, trusted=False))

    def _remember(self, sha256: str, operation: StoredOperation) -> None:
        self._cache[sha256] = operation
        self._cache.move_to_end(sha256)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
