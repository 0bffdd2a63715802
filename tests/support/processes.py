"""Real server processes for tests: a free port, and an environment holding only the settings a
test gives (no `BACKLOG_*` or `DATABASE_URL` of the process running the tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any Backlog setting, plus `settings`."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("BACKLOG_") and name not in {"DATABASE_URL", "TEST_DATABASE_URL"}
    }
    # Never the checkout's `.backlog`, even if a check let the server get that far. No outbox
    # worker unless a test asks for one: it would send (or give up) the messages of tests that
    # share the database.
    return {
        **environment,
        "BACKLOG_DATA_DIR": str(tmp_path / "data"),
        "BACKLOG_OUTBOX_WORKER": "false",
        **settings,
    }


def wait_until_healthy(
    process: subprocess.Popen[bytes], port: int, log: Path, *, within_s: float = 20
) -> None:
    """Until the server on `port` answers `/healthz`; fails with its log if it exits first or
    does not answer within `within_s`."""
    deadline = time.monotonic() + within_s
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"the server did not answer within {within_s:g} s"
        time.sleep(0.1)


def serve(
    tmp_path: Path, log: Path, port: int, *options: str, **settings: str
) -> subprocess.Popen[bytes]:
    """`backlog serve --port PORT OPTIONS` run from `tmp_path` with only `settings` for Backlog
    in its environment (`clean_environment`); its stderr goes to `log`."""
    with log.open("wb") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port), *options],
            cwd=tmp_path,
            env=clean_environment(tmp_path, **settings),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


@contextmanager
def running_server(
    tmp_path: Path, *options: str, stop_within_s: float = 10, **settings: str
) -> Iterator[int]:
    """`serve` on a free port, once it is healthy; yields the port, and terminates the server
    (waiting up to `stop_within_s` for it) on the way out. Its stderr is `server.log` there."""
    port = free_port()
    with _serving(
        tmp_path, [(port, tmp_path / "server.log")], options, settings, 20, stop_within_s
    ):
        yield port


@contextmanager
def running_servers(
    tmp_path: Path,
    count: int,
    *,
    healthy_within_s: float = 20,
    stop_within_s: float = 10,
    **settings: str,
) -> Iterator[tuple[int, ...]]:
    """`count` servers sharing `settings` (one database), started together, once all are
    healthy; yields their ports and terminates them all on the way out. The stderr of each is
    `server-PORT.log` there."""
    ports = tuple(free_port() for _ in range(count))
    logs = [(port, tmp_path / f"server-{port}.log") for port in ports]
    with _serving(tmp_path, logs, (), settings, healthy_within_s, stop_within_s):
        yield ports


@contextmanager
def _serving(
    tmp_path: Path,
    logs: list[tuple[int, Path]],
    options: tuple[str, ...],
    settings: dict[str, str],
    healthy_within_s: float,
    stop_within_s: float,
) -> Iterator[None]:
    """A server on each port of `logs`, its stderr in the log beside it, until all are healthy; all
    terminated on the way out (then each waited for)."""
    processes = [serve(tmp_path, log, port, *options, **settings) for port, log in logs]
    try:
        for process, (port, log) in zip(processes, logs, strict=True):
            wait_until_healthy(process, port, log, within_s=healthy_within_s)
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=stop_within_s)
