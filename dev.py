#!/usr/bin/env python3
"""Bootstrap and run Backlog on a machine that has only Python 3.11+.

    python3 dev.py serve [backlog serve options]   # the server, embedded PostgreSQL, demo data
    python3 dev.py test  [pytest options]          # ruff, mypy, then the whole test suite
    python3 dev.py typecheck [mypy options]        # mypy (pyproject.toml: the modules it checks)
    python3 dev.py bench [bench options]           # the benchmark suite (README: Performance)
    python3 dev.py fuzz [--count N] [--seed S]     # random queries: both executors alike?

Every run makes sure `.venv` holds exactly the pinned versions in requirements.lock and that the
GraphiQL assets are installed; both steps are skipped when nothing they depend on has changed.
Only the standard library is used here, because nothing else exists yet on a fresh machine.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".backlog-installed"
INSTALL_INPUTS = ("requirements.lock", "pyproject.toml")
GRAPHIQL_INSTALLER = ROOT / "web" / "graphiql" / "install.py"


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must explain, not crash
        sys.exit("Backlog needs Python 3.11 or newer.")
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    ensure_virtualenv()
    ensure_graphiql_assets()
    return COMMANDS[sys.argv[1]](sys.argv[2:])


def ensure_virtualenv() -> None:
    fingerprint = hashlib.sha256(
        b"".join((ROOT / name).read_bytes() for name in INSTALL_INPUTS)
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    if not (BIN / "python").exists():
        print("Creating .venv ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    print("Installing pinned dependencies into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-r", str(ROOT / "requirements.lock")], check=True)
    subprocess.run([*pip, "install", "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(fingerprint)


def ensure_graphiql_assets() -> None:
    if GRAPHIQL_INSTALLER.exists():
        subprocess.run([str(BIN / "python"), str(GRAPHIQL_INSTALLER)], check=True)


def ensure_chromium() -> None:
    """The browser test drives Debian's Chromium; install it where this machine allows."""
    if shutil.which("chromium"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing Debian's chromium for the browser test ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    else:
        print("chromium is not installed: the browser test will be skipped.", flush=True)


def serve(args: list[str]) -> int:
    return _exec(str(BIN / "backlog"), "serve", *args)


# Run by `test` before pytest, in this order; the first that fails ends the run.
STATIC_CHECKS = (
    ("ruff check .", "fix the findings above (`.venv/bin/ruff check --fix .` fixes some)"),
    ("ruff format --check .", "run `.venv/bin/ruff format .`"),
    ("mypy", "fix the type errors above"),
)


def test(args: list[str]) -> int:
    code = run_static_checks()
    if code:
        return code
    ensure_chromium()
    return _exec(str(BIN / "python"), "-m", "pytest", *args)


def run_static_checks() -> int:
    for command, remedy in STATIC_CHECKS:
        tool, *tool_args = command.split()
        code = _exec(str(BIN / tool), *tool_args)
        if code:
            print(f"\n`{command}` failed: {remedy}. The tests did not run.", file=sys.stderr)
            return code
    return 0


def typecheck(args: list[str]) -> int:
    """mypy over the modules pyproject.toml [tool.mypy] names (what `test` checks), or over
    the paths given."""
    return _exec(str(BIN / "mypy"), *args)


def bench(args: list[str]) -> int:
    ensure_bench_dependencies()
    return _exec(str(BIN / "python"), "-m", "bench", *args)


def ensure_bench_dependencies() -> None:
    """The chart library, pinned apart so the server and the tests never install it."""
    stamp = VENV / ".backlog-bench-installed"
    lock = ROOT / "requirements-bench.lock"
    fingerprint = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == fingerprint:
        return
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-r", str(lock)], check=True)
    stamp.write_text(fingerprint)


FUZZ_TEST = "tests/platform/test_executor_fuzz.py"


def fuzz(args: list[str]) -> int:
    """Differential fuzzing of the query executor: the test suite's fuzz test, with thousands of
    documents from a random seed instead of its fixed slice (README: Tests)."""
    parser = argparse.ArgumentParser(
        prog="dev.py fuzz",
        description="Run random valid queries through Backlog's executor and graphql-core's, "
        "and report where their answers differ.",
    )
    parser.add_argument("--count", type=int, default=5000, help="documents (default 5000)")
    parser.add_argument("--seed", type=int, help="the first document's seed (default: random)")
    options = parser.parse_args(args)
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(10**9)
    print(f"Fuzzing with {options.count} documents from seed {seed} ...", flush=True)
    os.environ["BACKLOG_FUZZ_COUNT"] = str(options.count)
    os.environ["BACKLOG_FUZZ_SEED"] = str(seed)
    return _exec(str(BIN / "python"), "-m", "pytest", "-q", "-s", FUZZ_TEST)


FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _exec(*command: str) -> int:
    """Run `command` to its end, passing SIGTERM and SIGINT on to it and waiting while it
    cleans up (stops its servers, the embedded PostgreSQL), so that stopping this script never
    leaves them running. A Ctrl-C typed in a terminal reaches the command by itself, through the
    terminal's process group: that one is not sent a second time."""
    os.chdir(ROOT)
    child: subprocess.Popen[bytes] | None = None
    pending: list[int] = []

    def forward(signum: int, frame: object) -> None:
        if signum == signal.SIGINT and _terminal_sends_sigint_to_our_group():
            return
        if child is None:
            pending.append(signum)
        else:
            child.send_signal(signum)  # a no-op once it has ended

    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED_SIGNALS}
    try:
        child = subprocess.Popen(command)
        for signum in pending:
            child.send_signal(signum)
        code = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code  # killed by signal N: the shell's 128 + N


def _terminal_sends_sigint_to_our_group() -> bool:
    """Whether this process group is in the foreground of a terminal, whose Ctrl-C signals
    every process of the group (the command included)."""
    for descriptor in (0, 1, 2):
        try:
            return os.tcgetpgrp(descriptor) == os.getpgrp()
        except OSError:  # not a terminal
            continue
    return False


COMMANDS = {"serve": serve, "test": test, "typecheck": typecheck, "bench": bench, "fuzz": fuzz}

if __name__ == "__main__":
    sys.exit(main())
