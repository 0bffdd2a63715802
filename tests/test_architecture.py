"""The import contract of pyproject.toml [tool.importlinter]: each layer imports only the layers
below it (STYLE.md, "The shape of Backlog"), lazy and `TYPE_CHECKING` imports included.

`lint-imports` runs in a subprocess: it finds packages through the import system, and this pytest
process has already imported the checkout's, so a copy could not be checked in-process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
# Top-level packages outside the application: they may import any layer.
NOT_LAYERS = {"tests", "bench"}


def _pyproject() -> dict:
    return tomllib.loads(PYPROJECT.read_text())


def _layers() -> list[str]:
    (contract,) = (
        contract
        for contract in _pyproject()["tool"]["importlinter"]["contracts"]
        if contract["id"] == "layers"
    )
    return contract["layers"]


def _lint_imports(source_root: Path) -> subprocess.CompletedProcess[str]:
    """The contract, checked against the packages found in `source_root`."""
    executable = Path(sysconfig.get_path("scripts")) / "lint-imports"
    return subprocess.run(
        [str(executable), "--no-cache", "--no-logo", str(PYPROJECT)],
        cwd=source_root,
        # PYTHONPATH comes before the editable install's finder, which points at the checkout.
        env={**os.environ, "PYTHONPATH": str(source_root), "NO_COLOR": "1", "COLUMNS": "500"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_layers_contract_is_kept():
    result = _lint_imports(ROOT)
    if result.returncode != 0:
        pytest.fail(
            "The import contract is broken (`.venv/bin/lint-imports` shows the same):\n"
            + result.stdout
            + result.stderr,
            pytrace=False,
        )


def test_every_application_package_is_a_layer():
    """import-linter's `exhaustive` needs a container package, and the layers are top-level
    packages, so this checks instead that none is left out of the contract."""
    pyproject = _pyproject()
    on_disk = {init.parent.name for init in ROOT.glob("*/__init__.py")} - NOT_LAYERS
    shipped = {
        pattern.removesuffix("*")
        for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    root_packages = set(pyproject["tool"]["importlinter"]["root_packages"])
    assert on_disk == shipped == root_packages == set(_layers())


def test_an_upward_import_breaks_the_contract(tmp_path: Path):
    """A lazy import and a `TYPE_CHECKING` import, each against the layering, in a copy."""
    for package in _layers():
        for source in (ROOT / package).rglob("*.py"):
            copy = tmp_path / source.relative_to(ROOT)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
    (tmp_path / "db" / "upward_probe.py").write_text(
        "def reach_up():\n    import schema  # noqa: F401\n"
    )
    (tmp_path / "core" / "upward_probe.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import server  # noqa: F401\n"
    )

    result = _lint_imports(tmp_path)

    report = result.stdout + result.stderr
    assert result.returncode == 1, report
    assert "BROKEN" in report
    assert "db is not allowed to import schema:" in report
    assert "- db.upward_probe -> schema (l.2)" in report
    assert "core is not allowed to import server:" in report
    assert "- core.upward_probe -> server (l.4)" in report
