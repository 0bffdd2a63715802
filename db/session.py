"""The database: one engine per process, one handle per request.

Execution design (measured choice, see README "Performance"): a request gets ONE pooled connection,
checked out on its first statement, and every statement of the request runs on it, one at a time.
Loader batches of one GraphQL level are dispatched together; they queue on `RequestDatabase.lock`
instead of each taking a connection of its own. On a 2-core machine PostgreSQL's CPU, not the
round trip, bounds throughput, so parallel batches within one request buy nothing while
multiplying connections per request by the width of the query. A query's transaction is
REPEATABLE READ READ ONLY (`snapshot=True`), so `totalCount` and the page it counts come from the
same snapshot; a mutation's is READ COMMITTED.

Statements are built with SQLAlchemy Core (not the ORM `Session`: reads are plain rows with no
identity map to fill, and writes are explicit `UPDATE ... SET field = ...` statements, which is what
field-level updates without lost writes need anyway), compiled once per shape by SQLAlchemy's own
cache key and compiler, and run by asyncpg directly on the pooled connection (`CompiledStatements`).
The private SQLAlchemy APIs that takes are reached only through `db.sqlalchemy_internals`.
"""

from __future__ import annotations

import asyncio
from collections import namedtuple
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy import Float, Numeric, event
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    create_async_engine,
)

from db.sqlalchemy_internals import (
    LRUCache,
    cache_key,
    compile_shape,
    dispatch_before_cursor_execute,
    positional_statement,
    result_columns,
    result_processor,
)

if TYPE_CHECKING:
    from sqlalchemy import Executable


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
        self.compiled_statements = CompiledStatements(engine.dialect)

    @classmethod
    def sharing(cls, connection: AsyncConnection) -> Database:
        return cls(connection.engine, shared_connection=connection)

    def request_handle(self, *, snapshot: bool = False) -> RequestDatabase:
        """A handle for one request; `snapshot` for requests that only read."""
        return RequestDatabase(self, snapshot=snapshot)

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def _open(self, *, snapshot: bool) -> tuple[AsyncConnection, Any, Any, bool]:
        """A pooled connection, its asyncpg driver connection and a transaction begun on it."""
        owns = self._shared_connection is None
        connection = await self.engine.connect() if owns else self._shared_connection
        assert connection is not None
        try:
            driver = (await connection.get_raw_connection()).driver_connection
            if not owns and not driver.is_in_transaction():
                # The test's own transaction starts with its first statement; start it, so
                # that ours becomes a savepoint inside it.
                await connection.exec_driver_sql("SELECT 1")
            # A savepoint (the tests' shared connection) keeps its outer transaction's isolation.
            transaction = (
                driver.transaction(isolation="repeatable_read", readonly=True)
                if snapshot and owns
                else driver.transaction()
            )
            await transaction.start()
        except BaseException:
            if owns:
                await connection.close()
            raise
        return connection, driver, transaction, owns


class _Compiled:
    """A statement shape compiled once: its SQL, its parameters' order and its row type."""

    __slots__ = ("compiled", "processors", "row_type")

    def __init__(self, compiled: Any, dialect: Any) -> None:
        self.compiled = compiled
        columns = result_columns(compiled)
        self.processors = [_result_processor(column.type, dialect) for column in columns]
        if not any(self.processors):
            self.processors = None
        self.row_type = (
            namedtuple("Row", [column.keyname for column in columns], rename=True)
            if columns
            else None
        )


def _result_processor(column_type: Any, dialect: Any) -> Any:
    # asyncpg already returns floats and Decimals as their columns declare; SQLAlchemy's numeric
    # processors only convert by the wire type, which a statement compiled ahead has not seen.
    if isinstance(column_type, Numeric | Float):
        return None
    return result_processor(column_type, dialect)


class CompiledStatements:
    """SQLAlchemy Core statements compiled once per shape, for asyncpg to run directly.

    Measured on the list view (py-spy): SQLAlchemy's frames fell from 26% to 16% of the server's
    samples once its execution layer (cursor emulation over asyncpg, the greenlet bridge, result
    objects) was bypassed; building statements is what remains. Statements are still
    built with SQLAlchemy Core, and keyed and compiled by its own cache key and compiler, so
    parameters and types (enums, arrays) are handled exactly as SQLAlchemy would; only the
    execution goes straight to asyncpg, whose prepared-statement cache does the rest.
    """

    def __init__(self, dialect: Any, size: int = 1000) -> None:
        self._dialect = dialect
        self._cache: LRUCache[Any, _Compiled] = LRUCache(size)

    def prepare(
        self, statement: Executable, params: dict[str, Any] | None
    ) -> tuple[str, list[Any], _Compiled]:
        dialect = self._dialect
        key = cache_key(statement)
        if key is None:
            entry = _Compiled(statement.compile(dialect=dialect), dialect)  # type: ignore[attr-defined]
        else:
            entry = self._cache.get(key.key)
            if entry is None:
                entry = _Compiled(compile_shape(statement, dialect, key), dialect)
                self._cache[key.key] = entry
        sql, arguments = positional_statement(entry.compiled, params, key)
        return sql, arguments, entry


class RequestDatabase:
    """The single database handle of one request.

    Statements are serialized on one connection; the transaction is rolled back on `close()` unless
    `commit()` ran, so a failed mutation leaves nothing behind. Rows are named tuples.
    """

    def __init__(self, database: Database, *, snapshot: bool = False) -> None:
        self._database = database
        self._snapshot = snapshot
        self._connection: AsyncConnection | None = None
        self._driver: Any = None
        self._transaction: Any = None
        self._owns_connection = False
        self.lock = asyncio.Lock()
        self.statement_count = 0

    async def _ensure_open(self) -> Any:
        if self._connection is None:
            (
                self._connection,
                self._driver,
                self._transaction,
                self._owns_connection,
            ) = await self._database._open(snapshot=self._snapshot)
        elif self._transaction is None:
            # After a commit the request goes on in a new transaction (the next mutation of a
            # document, a payload's nested fields): never in autocommit, where a failure would
            # leave half its writes behind and a row lock would end with its statement.
            self._transaction = self._driver.transaction()
            await self._transaction.start()
        return self._driver

    async def fetch_all(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Sequence[Any]:
        sql, arguments, entry = self._database.compiled_statements.prepare(statement, params)
        async with self.lock:
            driver = await self._ensure_open()
            self.statement_count += 1
            self._announce(sql, arguments)
            try:
                records = await driver.fetch(sql, *arguments)
            except asyncpg.QueryCanceledError as error:
                raise StatementTimeoutError("The database took too long to answer.") from error
        return _rows(records, entry)

    def _announce(self, sql: str, arguments: list[Any]) -> None:
        """Let SQLAlchemy's `before_cursor_execute` listeners (statement counters) see it."""
        connection = self._connection
        assert connection is not None
        dispatch_before_cursor_execute(connection, sql, arguments)

    async def fetch_one(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Any | None:
        rows = await self.fetch_all(statement, params)
        return rows[0] if rows else None

    async def fetch_row(self, statement: Executable, params: dict[str, Any] | None = None) -> Any:
        """The first row of a statement that always returns one (an `INSERT ... RETURNING`
        without conflict handling, an aggregate, an update of a row held locked)."""
        row = await self.fetch_one(statement, params)
        if row is None:
            raise LookupError("the statement returned no row")
        return row

    async def scalar(self, statement: Executable, params: dict[str, Any] | None = None) -> Any:
        row = await self.fetch_one(statement, params)
        return None if row is None else row[0]

    async def commit(self) -> None:
        async with self.lock:
            if self._transaction is not None:
                transaction, self._transaction = self._transaction, None
                await transaction.commit()

    async def rollback(self) -> None:
        """Undo everything since the last commit; the next statement starts a new transaction."""
        async with self.lock:
            if self._transaction is not None:
                transaction, self._transaction = self._transaction, None
                await transaction.rollback()

    async def close(self) -> None:
        """Release the connection, rolling back whatever was not committed."""
        async with self.lock:
            try:
                if self._transaction is not None:
                    transaction, self._transaction = self._transaction, None
                    await transaction.rollback()
            finally:
                if self._owns_connection and self._connection is not None:
                    await self._connection.close()
                self._connection = None
                self._driver = None


def _rows(records: Sequence[Any], entry: _Compiled) -> list[Any]:
    if not records:
        return []
    row_type = entry.row_type
    if row_type is None:
        # Text statements: named after the columns PostgreSQL reports.
        row_type = entry.row_type = namedtuple("Row", list(records[0].keys()), rename=True)
    processors = entry.processors
    if processors is None:
        return [row_type._make(record) for record in records]
    return [
        row_type._make(
            [
                process(value) if process is not None else value
                for process, value in zip(processors, record, strict=True)
            ]
        )
        for record in records
    ]
