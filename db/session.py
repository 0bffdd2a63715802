"""The database: one engine per process, one handle per request.

Execution design (measured choice, see README "Performance"): a request gets ONE pooled connection,
checked out on its first statement, and every statement of the request runs on it, one at a time.
Loader batches of one GraphQL level are dispatched together; they queue on `RequestDatabase.lock`
instead of each taking a connection of its own. On a 2-core machine PostgreSQL's CPU, not the
round trip, bounds throughput, so parallel batches within one request buy nothing while
multiplying connections per request by the width of the query; one connection also means one
transaction, so `totalCount` and the page it counts come from the same snapshot.

We use SQLAlchemy Core on an `AsyncConnection`, not the ORM `Session`: reads are plain rows
(no identity map to fill), and writes are explicit `UPDATE ... SET field = ...` statements, which is
what field-level updates without lost writes need anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncTransaction,
    create_async_engine,
)

if TYPE_CHECKING:
    from sqlalchemy import Executable, Row


QUERY_CANCELED = "57014"


class StatementTimeoutError(Exception):
    """PostgreSQL cancelled a statement that ran past `statement_timeout`."""


def asyncpg_url(url: str) -> str:
    """Accept the usual `postgresql://user:password@host:port/db` form for DATABASE_URL."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must start with postgresql://")


def create_engine(
    url: str, *, pool_size: int = 10, statement_timeout_ms: int = 5000
) -> AsyncEngine:
    return create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        connect_args={
            "server_settings": {
                "statement_timeout": str(statement_timeout_ms),
                "idle_in_transaction_session_timeout": str(max(statement_timeout_ms * 4, 10000)),
                # Our statements are small and batched: JIT compilation only adds latency.
                "jit": "off",
                "application_name": "backlog",
            },
        },
    )


TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


class StatementCounter:
    """Counts the SQL statements an engine or connection sends (transaction control excluded)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith(TRANSACTION_CONTROL):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def attach(self, target: Any) -> None:
        event.listen(target, "before_cursor_execute", self)

    def detach(self, target: Any) -> None:
        event.remove(target, "before_cursor_execute", self)


class Database:
    """Process-wide database access: the engine, and the factory of per-request handles.

    `Database.sharing(connection)` makes every request handle run inside a SAVEPOINT of one
    already-open connection: the tests use it to roll each test back as a whole.
    """

    def __init__(self, engine: AsyncEngine, *, shared_connection: AsyncConnection | None = None):
        self.engine = engine
        self._shared_connection = shared_connection

    @classmethod
    def sharing(cls, connection: AsyncConnection) -> Database:
        return cls(connection.engine, shared_connection=connection)

    def request_handle(self) -> RequestDatabase:
        return RequestDatabase(self)

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def _open(self) -> tuple[AsyncConnection, AsyncTransaction, bool]:
        if self._shared_connection is not None:
            return self._shared_connection, await self._shared_connection.begin_nested(), False
        connection = await self.engine.connect()
        try:
            return connection, await connection.begin(), True
        except BaseException:
            await connection.close()
            raise


class RequestDatabase:
    """The single database handle of one request (or one subscription event).

    Statements are serialized on one connection; the transaction is rolled back on `close()` unless
    `commit()` ran, so a failed mutation leaves nothing behind.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._connection: AsyncConnection | None = None
        self._transaction: AsyncTransaction | None = None
        self._owns_connection = False
        self.lock = asyncio.Lock()
        self.statement_count = 0

    async def _ensure_open(self) -> AsyncConnection:
        if self._connection is None:
            (
                self._connection,
                self._transaction,
                self._owns_connection,
            ) = await self._database._open()
        return self._connection

    async def fetch_all(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        async with self.lock:
            connection = await self._ensure_open()
            self.statement_count += 1
            try:
                result = await connection.execute(statement, params)
            except DBAPIError as error:
                raise _translate(error) from error
            return result.all() if result.returns_rows else ()

    async def fetch_one(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Row[Any] | None:
        rows = await self.fetch_all(statement, params)
        return rows[0] if rows else None

    async def scalar(self, statement: Executable, params: dict[str, Any] | None = None) -> Any:
        row = await self.fetch_one(statement, params)
        return None if row is None else row[0]

    async def commit(self) -> None:
        async with self.lock:
            if self._transaction is not None:
                await self._transaction.commit()
                self._transaction = None

    async def close(self) -> None:
        """Release the connection, rolling back whatever was not committed."""
        async with self.lock:
            try:
                if self._transaction is not None and self._transaction.is_active:
                    await self._transaction.rollback()
            finally:
                if self._owns_connection and self._connection is not None:
                    await self._connection.close()
                self._connection = None
                self._transaction = None


def _translate(error: DBAPIError) -> Exception:
    if getattr(error.orig, "sqlstate", None) == QUERY_CANCELED:
        return StatementTimeoutError("The database took too long to answer.")
    return error
