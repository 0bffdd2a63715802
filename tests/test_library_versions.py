"""Canary: Backlog reaches into private internals of graphql-core, Strawberry and SQLAlchemy, which
change without notice between releases. An installed version the suite was not run with fails
here, naming the files to re-check, instead of somewhere subtle at run time."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent

# distribution: (versions the whole suite has passed with, files that use its internals)
TESTED = {
    "graphql-core": ({"3.3.2"}, ["execution/engine.py"]),
    "strawberry-graphql": ({"0.341.2"}, ["execution/engine.py"]),
    "SQLAlchemy": ({"2.1.9"}, ["db/session.py", "db/pagination.py"]),
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
