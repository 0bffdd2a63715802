"""Canary: Backlog reaches into private internals of graphql-core, Strawberry and SQLAlchemy, which
change without notice between releases. An installed version the suite was not run with fails
here, naming the files to re-check, instead of somewhere subtle at run time."""

from __future__ import annotations

import ast
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent

# distribution: (versions the whole suite has passed with, the adapter module that holds every
# use of its internals; the rest of Backlog only calls that module's functions)
TESTED = {
    "graphql-core": ({"3.3.2"}, ["execution/graphql_internals.py"]),
    "strawberry-graphql": ({"0.341.2"}, ["execution/graphql_internals.py"]),
    "SQLAlchemy": ({"2.1.9"}, ["db/sqlalchemy_internals.py"]),
    "uvicorn": ({"0.54.0"}, ["server/http_protocol.py"]),
}


@pytest.mark.parametrize("distribution", sorted(TESTED))
def test_the_installed_version_was_tested(distribution: str):
    tested, files = TESTED[distribution]
    installed = version(distribution)
    if installed not in tested:
        pytest.fail(
            f"{distribution} {installed} is installed, but Backlog was tested only with "
            f"{', '.join(sorted(tested))}. Re-check its private internals used in "
            f"{', '.join(files)} against {distribution} {installed}, run the whole suite, then "
            f"add {installed} to TESTED in tests/test_library_versions.py (and widen the range "
            "in pyproject.toml if it lies outside).",
            pytrace=False,
        )


@pytest.mark.parametrize("distribution", sorted(TESTED))
def test_the_supported_range_holds_the_tested_versions(distribution: str):
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (requirement,) = (
        requirement
        for requirement in map(Requirement, dependencies)
        if canonicalize_name(requirement.name) == canonicalize_name(distribution)
    )
    tested, _ = TESTED[distribution]
    outside = {v for v in tested if v not in requirement.specifier}
    assert not outside, f"pyproject.toml's {requirement} excludes tested {sorted(outside)}"


def test_the_files_named_above_exist():
    """A moved adapter must be named here again, or the failure message would send people to
    the wrong file."""
    missing = {
        file for _, files in TESTED.values() for file in files if not (ROOT / file).is_file()
    }
    assert not missing, f"update TESTED in tests/test_library_versions.py: {sorted(missing)} moved"


# What the adapters wrap: private attributes, and modules the libraries keep internal.
INTERNAL_ATTRIBUTES = {
    # graphql-core
    "build_resolve_info",
    "build_response",
    "collect_subfields",
    "collected_errors",
    "ensure_valid_runtime_type",
    "fragment_variable_values",
    # Strawberry
    "_strawberry_schema",
    "base_resolver",
    "scalar_registry",
    "schema_converter",
    "wrapped_func",
    # SQLAlchemy
    "_bind_processors",
    "_cached_result_processor",
    "_compiler",
    "_generate_cache_key",
    "_process_parameters_for_postcompile",
    "_result_columns",
    "before_cursor_execute",
}
INTERNAL_MODULES = (
    "graphql.execution.collect_fields",
    "graphql.execution.executor",
    "graphql.execution.values",
    "sqlalchemy.sql.compiler",
    "sqlalchemy.util",
    "strawberry.schema.schema",
    "strawberry.schema.schema_converter",
    "strawberry.types.arguments",
    "uvicorn.protocols",
)
ADAPTERS = {file for _, files in TESTED.values() for file in files}
APPLICATION = ("core", "db", "auth", "resolvers", "schema", "execution", "server")


def test_only_the_adapters_touch_library_internals():
    """Everything else calls the adapters' functions, so the files named above are all there is
    to re-check on an upgrade."""
    found = []
    for package in APPLICATION:
        for path in sorted((ROOT / package).rglob("*.py")):
            file = path.relative_to(ROOT).as_posix()
            if file in ADAPTERS:
                continue
            for node in ast.walk(ast.parse(path.read_text(), file)):
                if isinstance(node, ast.Attribute) and node.attr in INTERNAL_ATTRIBUTES:
                    found.append(f"{file}:{node.lineno} .{node.attr}")
                elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    INTERNAL_MODULES
                ):
                    found.append(f"{file}:{node.lineno} from {node.module}")
    assert not found, f"move these into {sorted(ADAPTERS)}: {found}"
