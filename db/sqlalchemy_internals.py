"""The private SQLAlchemy APIs Backlog's statement layer uses, each behind one name.

`db.session` builds statements with SQLAlchemy Core and compiles them with SQLAlchemy's own cache
key and compiler, but runs them on asyncpg directly, bypassing SQLAlchemy's execution layer (see
`db.session.CompiledStatements`). Doing what that layer does (compile once per shape, bind the
parameters, process result values, tell event listeners) takes APIs SQLAlchemy keeps private.
Everything of it that `db` touches is named here, so an upgrade means re-reading this module only.
Written against SQLAlchemy 2.1 (2.0 differs: its cache key has no collected parameters); the
supported range is in `pyproject.toml`, and `tests/test_library_versions.py` fails on a version
not yet tested.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.util import LRUCache

if TYPE_CHECKING:
    from sqlalchemy import Executable
    from sqlalchemy.engine import Dialect
    from sqlalchemy.ext.asyncio import AsyncConnection
    from sqlalchemy.sql.cache_key import CacheKey
    from sqlalchemy.sql.compiler import ResultColumnsEntry, SQLCompiler
    from sqlalchemy.sql.elements import ClauseElement
    from sqlalchemy.types import TypeEngine

__all__ = [
    "LRUCache",
    "cache_key",
    "compile_shape",
    "dispatch_before_cursor_execute",
    "positional_statement",
    "result_columns",
    "result_processor",
]

# `LRUCache` (a mapping that drops its least recently used entries past a size) is SQLAlchemy's
# internal `sqlalchemy.util.LRUCache`, the one its own compiled cache uses (2.0-2.1).


def cache_key(statement: Executable) -> CacheKey | None:
    """The statement's cache key: its shape (`.key`) and the bound values extracted from it, or
    None when it cannot be cached. SQLAlchemy 2.1's private `_generate_cache_key`."""
    return cast("ClauseElement", statement)._generate_cache_key()


def compile_shape(statement: Executable, dialect: Dialect, key: CacheKey) -> SQLCompiler:
    """The statement compiled for its shape, to be reused by every statement with the same
    `key.key`: the private `_compiler` call of SQLAlchemy 2.1's `ClauseElement._compile_w_cache`."""
    compiled = cast("ClauseElement", statement)._compiler(
        dialect, cache_key=key, column_keys=[], for_executemany=False
    )
    return cast("SQLCompiler", compiled)


def positional_statement(
    compiled: SQLCompiler, params: Mapping[str, Any] | None, key: CacheKey | None
) -> tuple[str, list[Any]]:
    """The SQL and its arguments in `$n` order, bound as SQLAlchemy 2.1's default execution context
    binds them: values taken from `key` (the statement at hand, where `compiled` may have been
    compiled from another of its shape) and `params`, expanded post-compile parameters (`IN`
    lists), bind processors applied. Private: `construct_params(_collected_params=)`,
    `_bind_processors`, `_process_parameters_for_postcompile`."""
    values = compiled.construct_params(
        params,
        escape_names=False,
        extracted_parameters=None if key is None else key.bindparams,
        _collected_params=None if key is None else key.params,
    )
    processors: Mapping[str, Any] = compiled._bind_processors
    sql = compiled.string
    order: Sequence[str] | None = compiled.positiontup
    if compiled.literal_execute_params or compiled.post_compile_params:
        expanded = compiled._process_parameters_for_postcompile(values)
        sql = expanded.statement
        order = expanded.positiontup
        processors = {**processors, **expanded.processors}
    arguments = [
        processors[name](values[name]) if name in processors else values[name]
        for name in order or ()
    ]
    return sql, arguments


def result_columns(compiled: SQLCompiler) -> list[ResultColumnsEntry]:
    """The columns a compiled statement returns, in order (`.keyname`, `.type`): SQLAlchemy 2.1's
    private `SQLCompiler._result_columns`."""
    return compiled._result_columns


def result_processor(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The function SQLAlchemy applies to a result value of the type, or None: SQLAlchemy 2.1's
    private, per-dialect memoized `TypeEngine._cached_result_processor`."""
    return column_type._cached_result_processor(dialect, None)


def dispatch_before_cursor_execute(
    connection: AsyncConnection, sql: str, arguments: list[Any]
) -> None:
    """Call the connection's `before_cursor_execute` listeners (statement counters) for a statement
    sent around SQLAlchemy, as its own execution would: SQLAlchemy 2.1's private event
    `dispatch` of the sync connection behind an `AsyncConnection`."""
    sync = connection.sync_connection
    if sync is not None and sync.dispatch.before_cursor_execute:
        sync.dispatch.before_cursor_execute(sync, None, sql, arguments, None, False)
