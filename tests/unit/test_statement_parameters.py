"""Every statement `db/` keeps gives each parameter its type with `type_=`.

`bindparam("user_id", BigInteger)` reads like a typed parameter but passes the type as the
parameter's *value*: where nothing else types it (an INSERT ... SELECT's values, a LIMIT, text
concatenated into a lock's name) asyncpg then sends it untyped and PostgreSQL guesses.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import BindParameter, ClauseElement
from sqlalchemy.sql.visitors import iterate
from sqlalchemy.types import TypeEngine

import db


def _kept_statements() -> list[tuple[str, ClauseElement]]:
    """The statements of `db/`'s cached functions that take no argument (almost all of them)."""
    found = []
    for module_info in pkgutil.iter_modules(db.__path__):
        if module_info.name == "migrations":
            continue
        module = importlib.import_module(f"db.{module_info.name}")
        for name, function in vars(module).items():
            kept = callable(function) and hasattr(function, "cache_info")
            if not kept or getattr(function, "__module__", None) != module.__name__:
                continue
            if inspect.signature(function).parameters:
                continue
            statement = function()
            if isinstance(statement, ClauseElement):
                found.append((f"{module.__name__}.{name}", statement))
    return found


STATEMENTS = _kept_statements()


def _is_a_type(value: Any) -> bool:
    return isinstance(value, TypeEngine) or (
        isinstance(value, type) and issubclass(value, TypeEngine)
    )


def test_the_statements_are_found():
    assert len(STATEMENTS) > 100


@pytest.mark.parametrize(("name", "statement"), STATEMENTS, ids=[n for n, _ in STATEMENTS])
def test_no_parameter_holds_a_type_as_its_value(name: str, statement: ClauseElement):
    misplaced = sorted(
        element.key
        for element in iterate(statement)
        if isinstance(element, BindParameter) and _is_a_type(element.value)
    )
    assert not misplaced, f"{name}: bindparam(..., type_=...) for {misplaced}"


def test_no_bindparam_in_db_takes_its_type_by_position():
    """The statements above are the kept ones; this reads every call in `db/`, however built."""
    root = Path(db.__file__).parent
    by_position = [
        f"{path.relative_to(root)}:{call.lineno}"
        for path in sorted(root.rglob("*.py"))
        for call in ast.walk(ast.parse(path.read_text()))
        if isinstance(call, ast.Call)
        and getattr(call.func, "id", getattr(call.func, "attr", None)) == "bindparam"
        and len(call.args) >= 2
    ]
    assert not by_position, f"bindparam(key, type_=...) at {by_position}"
