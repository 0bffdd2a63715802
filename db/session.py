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

A connection that failed is never handed out again. A statement that fails because its connection
did (PostgreSQL restarted, the session was terminated or timed out idle in its transaction), or a
connection that cannot be had, raises `DatabaseUnavailableError`: the request's transaction is
gone, and the request may be retried. The connection is closed for good, and SQLAlchemy's pool
opens a new one in its place on the next checkout; so is one whose statement was interrupted by a
cancellation (it may still be busy with it) or whose rollback failed. A pooled connection found
closed at checkout is replaced there, and one found dead at its `BEGIN` is discarded and another
taken, so the first request after a restart succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import namedtuple
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from sqlalchemy import Float, Numeric, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
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

T = TypeVar("T")

CONNECT_TIMEOUT_S = 10
"""How long opening a connection may take before the database counts as unavailable."""

CHECKOUT_ATTEMPTS = 3
"""Pooled connections tried for one request when each turns out dead at its `BEGIN`."""


class StatementTimeoutError(Exception):
    """PostgreSQL cancelled a statement that ran past `statement_timeout` (and so aborted the
    transaction: the handle's later statements raise this too, until a rollback)."""


TIMEOUT_MESSAGE = "The database took too long to answer."


class DatabaseUnavailableError(Exception):
    """No connection to the database could be had, or the request's connection failed: nothing of
    its open transaction stays (a failed `COMMIT` leaves the outcome unknown). Retryable."""


UNAVAILABLE_MESSAGE = "The database is unavailable; retry the request shortly."

# Errors after which a connection is not used again: asyncpg's for a closed or broken connection
# (its `InterfaceError`s that are also `ValueError`s concern arguments, not the connection),
# PostgreSQL's for a session it ends (08: connection exception; 57P01-57P05: terminated, crash,
# starting up or shutting down, database dropped, idle session timeout; 25P03 and 25P04: idle in
# transaction or transaction timeout), and the OS's.
_SESSION_ENDED = (
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.DatabaseDroppedError,
    asyncpg.IdleSessionTimeoutError,
    asyncpg.IdleInTransactionSessionTimeoutError,
    asyncpg.TransactionTimeoutError,
    OSError,
)


def _connection_failed(error: BaseException, driver: Any) -> bool:
    """Whether `error`, raised by an operation on the asyncpg connection `driver`, means the
    connection itself failed (or is in a state no one should build on)."""
    if isinstance(error, _SESSION_ENDED):
        return True
    if isinstance(error, asyncpg.InterfaceError) and not isinstance(error, ValueError):
        return True
    if isinstance(error, asyncpg.InternalClientError) and not isinstance(
        error, asyncpg.OutdatedSchemaCacheError
    ):
        return True
    return driver is not None and driver.is_closed()


def asyncpg_url(url: str) -> str:
    """Accept the usual `postgresql://user:password@host:port/db` form for DATABASE_URL."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must start with postgresql://")


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    statement_timeout_ms: int = 5000,
    application_name: str = "backlog",
    idle_in_transaction_timeout_ms: int | None = None,
) -> AsyncEngine:
    """`idle_in_transaction_timeout_ms`: how long a transaction may wait between statements
    before PostgreSQL ends its session; by default four statement timeouts, at least 10 s."""
    if idle_in_transaction_timeout_ms is None:
        idle_in_transaction_timeout_ms = max(statement_timeout_ms * 4, 10000)
    engine = create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping per checkout (a round trip per request): a connection the server closed is
        # known closed without one (`_replace_closed`), and one that dies unnoticed fails its
        # `BEGIN`, which `Database._open` survives.
        pool_pre_ping=False,
        connect_args={
            "timeout": CONNECT_TIMEOUT_S,
            # asyncpg closes a cached prepared statement unused for 5 minutes by default, with a
            # timer re-armed on every use of it. The statements are a fixed, bounded set (built
            # once per shape, `CompiledStatements`): keep them, and arm no timer per statement.
            "max_cached_statement_lifetime": 0,
            "server_settings": {
                "statement_timeout": str(statement_timeout_ms),
                "idle_in_transaction_session_timeout": str(idle_in_transaction_timeout_ms),
                # Our statements are small and batched: JIT compilation only adds latency.
                "jit": "off",
                # Each prepared statement is planned once per connection. Left to choose, the
                # planner re-planned the list views' statements on every execution (a custom
                # plan per call: 1.4 ms of planning for a 0.3 ms page of issues), and the generic
                # plans it declined ran as fast. Values are always parameters of statements built
                # per shape (`CompiledStatements`), so one plan per shape is what is asked for.
                "plan_cache_mode": "force_generic_plan",
                "application_name": application_name,
            },
        },
    )
    event.listen(engine.sync_engine.pool, "checkout", _replace_closed)
    return engine


def _replace_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Pool checkout: a connection the server has closed (a restart, `pg_terminate_backend`, a
    timeout) is replaced by a new one, without a round trip to find out."""
    if proxy.driver_connection.is_closed():
        raise DisconnectionError("the pooled connection was closed by the server")


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

    async def run_alone(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Sequence[Any]:
        """One statement in a short transaction of its own, committed: for work that must not
        wait for, nor be undone with, a request's transaction (a rate-limit charge, a persisted
        query's registration). Its rows, if it returns any."""
        db = self.request_handle()
        try:
            rows = await db.fetch_all(statement, params)
            await db.commit()
        finally:
            await db.close()
        return rows

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def _open(self, *, snapshot: bool) -> tuple[AsyncConnection, Any, Any, bool]:
        """A pooled connection, its asyncpg driver connection and a transaction begun on it.

        A pooled connection that turns out dead at its `BEGIN` (nothing of the request has run on
        it yet) is discarded and another one taken; DatabaseUnavailableError when none can be had.
        """
        if self._shared_connection is not None:
            return await self._open_shared(self._shared_connection)
        for attempt in range(1, CHECKOUT_ATTEMPTS + 1):
            try:
                connection = await self.engine.connect()
            except Exception as error:  # refused, timed out, pool exhausted, bad credentials...
                raise DatabaseUnavailableError(UNAVAILABLE_MESSAGE) from error
            driver = None
            try:
                driver = (await connection.get_raw_connection()).driver_connection
                transaction = (
                    driver.transaction(isolation="repeatable_read", readonly=True)
                    if snapshot
                    else driver.transaction()
                )
                await transaction.start()
            except BaseException as error:
                failed = _connection_failed(error, driver)
                await _release_connection(
                    connection, discard=failed or not isinstance(error, Exception)
                )
                if not failed:
                    raise
                if attempt == CHECKOUT_ATTEMPTS:
                    raise DatabaseUnavailableError(UNAVAILABLE_MESSAGE) from error
                continue
            return connection, driver, transaction, True
        raise AssertionError("unreachable")

    @staticmethod
    async def _open_shared(connection: AsyncConnection) -> tuple[AsyncConnection, Any, Any, bool]:
        driver = (await connection.get_raw_connection()).driver_connection
        if not driver.is_in_transaction():
            # The test's own transaction starts with its first statement; start it, so that
            # ours becomes a savepoint inside it (which keeps the outer one's isolation).
            await connection.exec_driver_sql("SELECT 1")
        transaction = driver.transaction()
        await transaction.start()
        return connection, driver, transaction, False


async def _release_connection(connection: AsyncConnection, *, discard: bool) -> None:
    """Give a connection back to the pool, or, with `discard` (it failed, or may still be busy
    with an interrupted operation), close it for good: the pool opens a new one in its place.
    SQLAlchemy closes an invalidated asyncpg connection gracefully (letting a pending cancellation
    reach the server) within 2 seconds, then forcibly."""
    try:
        if discard and not connection.invalidated:
            await connection.invalidate()
    finally:
        await connection.close()


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

    When the connection fails mid-transaction (or a statement on it is interrupted by a
    cancellation), the transaction is lost: the connection is closed at once, and every statement
    raises DatabaseUnavailableError until `rollback()` (after which the next statement takes a new
    connection) or `close()`. `failure` keeps the first such error, for the request's log line.
    """

    def __init__(self, database: Database, *, snapshot: bool = False) -> None:
        self._database = database
        self._snapshot = snapshot
        self._connection: AsyncConnection | None = None
        self._driver: Any = None
        self._transaction: Any = None
        self._owns_connection = False
        self._lost = False
        self._timed_out = False  # a statement of the open transaction timed out
        self.committed = False
        """Whether a transaction of this request committed: then a later failure must not be
        answered as retryable as a whole (a mutation already took effect)."""
        self.failure: BaseException | None = None
        self.lock = asyncio.Lock()
        self.statement_count = 0

    async def _ensure_open(self) -> Any:
        if self._lost:
            raise DatabaseUnavailableError(UNAVAILABLE_MESSAGE)
        if self._timed_out and self._transaction is not None:
            # PostgreSQL aborted the transaction with the statement: every later one would fail.
            raise StatementTimeoutError(TIMEOUT_MESSAGE)
        if self._connection is None:
            try:
                (
                    self._connection,
                    self._driver,
                    self._transaction,
                    self._owns_connection,
                ) = await self._database._open(snapshot=self._snapshot)
            except DatabaseUnavailableError as error:
                self._note_failure(error.__cause__ or error)
                raise
        elif self._transaction is None:
            # After a commit the request goes on in a new transaction (the next mutation of a
            # document, a payload's nested fields): never in autocommit, where a failure would
            # leave half its writes behind and a row lock would end with its statement.
            transaction = self._driver.transaction()
            await self._guarded(transaction.start())
            self._transaction = transaction
        return self._driver

    async def _guarded(self, operation: Awaitable[T]) -> T:
        """Await one operation on the connection; if the connection failed, or the operation was
        interrupted (it may still be running), lose the connection and the transaction."""
        try:
            return await operation
        except BaseException as error:
            if not isinstance(error, Exception):
                # Cancelled: asyncpg is asking the server to cancel the statement, and the
                # connection stays busy until it answers. Nothing uses it again; `close()` closes
                # it once the cancellation went through.
                self._lose(error, terminate=False)
                raise
            if _connection_failed(error, self._driver):
                self._lose(error, terminate=True)
                raise DatabaseUnavailableError(UNAVAILABLE_MESSAGE) from error
            raise

    def _lose(self, error: BaseException, *, terminate: bool) -> None:
        """The transaction is gone with the connection, which no statement may use again."""
        self._lost = True
        self._transaction = None
        if terminate and self._owns_connection and self._driver is not None:
            self._driver.terminate()
        self._note_failure(error)

    def _note_failure(self, error: BaseException) -> None:
        if isinstance(error, DBAPIError) and error.orig is not None:
            # SQLAlchemy's wrapper (of its adapter's, of asyncpg's error) says less than the error.
            error = error.orig.__cause__ or error.orig
        if self.failure is None and isinstance(error, Exception):
            self.failure = error

    async def fetch_all(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Sequence[Any]:
        sql, arguments, entry = self._database.compiled_statements.prepare(statement, params)
        async with self.lock:
            driver = await self._ensure_open()
            self.statement_count += 1
            self._announce(sql, arguments)
            try:
                records = await self._guarded(driver.fetch(sql, *arguments))
            except asyncpg.QueryCanceledError as error:
                self._timed_out = True
                raise StatementTimeoutError(TIMEOUT_MESSAGE) from error
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
        """Commit; DatabaseUnavailableError if the connection failed (the outcome is then
        unknown: a retry should carry the same idempotency key)."""
        async with self.lock:
            if self._lost:
                raise DatabaseUnavailableError(UNAVAILABLE_MESSAGE)
            if self._timed_out and self._transaction is not None:
                # PostgreSQL would answer COMMIT with a silent ROLLBACK: say what happened.
                raise StatementTimeoutError(TIMEOUT_MESSAGE)
            if self._transaction is not None:
                transaction, self._transaction = self._transaction, None
                await self._guarded(transaction.commit())
                self.committed = True

    async def rollback(self) -> None:
        """Undo everything since the last commit; the next statement starts a new transaction.

        A connection that fails meanwhile, or failed before, is released for good (PostgreSQL
        ends its transaction with the session), and the next statement takes a new one."""
        async with self.lock:
            self._timed_out = False
            if not self._lost and self._transaction is not None:
                transaction, self._transaction = self._transaction, None
                # If the session ends meanwhile, its transaction ends with it: rolled back.
                with contextlib.suppress(DatabaseUnavailableError):
                    await self._guarded(transaction.rollback())
            if self._lost:
                await self._release()

    async def close(self) -> None:
        """Release the connection, rolling back whatever was not committed. A connection that
        failed, or whose rollback fails, is closed for good instead of going back to the pool."""
        async with self.lock:
            await self._release()

    async def _release(self) -> None:
        connection, driver, transaction = self._connection, self._driver, self._transaction
        owns, lost = self._owns_connection, self._lost
        self._connection = self._driver = self._transaction = None
        self._lost = self._timed_out = False
        if connection is None:
            return
        discard = lost
        try:
            if transaction is not None and not lost:
                try:
                    await transaction.rollback()
                except BaseException as error:
                    discard = True
                    self._note_failure(error)
                    if isinstance(error, Exception) and _connection_failed(error, driver):
                        return  # the session ended, and its transaction with it
                    raise
            # Whatever went wrong above, never hand out a connection still in a transaction.
            discard = discard or driver.is_closed() or driver.is_in_transaction()
        finally:
            if owns:
                await _release_connection(connection, discard=discard)


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
