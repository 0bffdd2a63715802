"""The servers under test: each a process (group) of its own on 127.0.0.1, on a free port.

Backlog and its variants run under exactly the uvicorn command a deployment would use, so the
benchmark measures the server, not a test harness; the variants differ only by environment. The
floor runs under the same command, and PostGraphile 4 and 5 come from bench/postgraphile.py and
bench/postgraphile5.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench import postgraphile, postgraphile5
from bench.process_groups import stop_group
from bench.procstat import CpuMeter
from bench.workloads import WORKSPACE_SLUG, Operation
from server.seed import DEMO_EMAIL
from server.settings import MAX_POINTS, PROJECT_ROOT, Settings

HOST = "127.0.0.1"
READY_TIMEOUT_S = 90.0
STOP_GRACE_S = 10.0
IDLE_TIMEOUT_S = 180.0
# Idle: at most this much CPU over one sampling window (2 clock ticks of 10 ms in 0.3 s).
IDLE_WINDOW_S = 0.3
IDLE_CPU_S = 0.02
DB_POOL_SIZE = 10


@dataclass(frozen=True)
class ServerSpec:
    name: str
    help: str
    app: str | None  # uvicorn factory; None for PostGraphile (its name is one of PEERS)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def speaks_backlog_graphql(self) -> bool:
        return self.app == BACKLOG_APP


BACKLOG_APP = "server.app:create_app_from_environment"
DEFAULT_SETTINGS = Settings.model_construct()
"""The settings' defaults (not the caller's environment's)."""
FLOOR_APP = "bench.floor:create_floor_app"

# Every variant sets every switch: a value left in the caller's environment must not leak in.
# The load is one user sending thousands of requests a second, far past any real budget: it
# gets one it never spends, so each request pays the limiter's bookkeeping and none is refused.
RATE_LIMITED = {
    "BACKLOG_LEVEL_EXECUTOR": "true",
    "BACKLOG_LOADERS_ENABLED": "true",
    "BACKLOG_RATE_LIMIT": str(MAX_POINTS),
}
SERVERS: dict[str, ServerSpec] = {
    spec.name: spec
    for spec in (
        ServerSpec(
            "backlog",
            "Backlog as deployed: DataLoaders and the level executor",
            BACKLOG_APP,
            RATE_LIMITED,
        ),
        ServerSpec(
            "backlog-unlimited",
            "Backlog without rate limits (what rate limiting costs; cost analysis stays on)",
            BACKLOG_APP,
            {**RATE_LIMITED, "BACKLOG_RATE_LIMIT": "0"},
        ),
        ServerSpec(
            "backlog-plain",
            "Backlog on graphql-core's own executor (what the level executor buys)",
            BACKLOG_APP,
            {**RATE_LIMITED, "BACKLOG_LEVEL_EXECUTOR": "false"},
        ),
        ServerSpec(
            "n+1",
            "Backlog without DataLoaders: one query per relation and parent (the N+1 baseline)",
            BACKLOG_APP,
            {**RATE_LIMITED, "BACKLOG_LOADERS_ENABLED": "false"},
        ),
        ServerSpec(
            "floor",
            "Backlog's SQL for the same view without GraphQL (bench/floor.py)",
            FLOOR_APP,
        ),
        ServerSpec(
            "postgraphile",
            f"PostGraphile {postgraphile.POSTGRAPHILE_VERSION} on the same tables (for history)",
            None,
        ),
        ServerSpec(
            "postgraphile5",
            f"PostGraphile {postgraphile5.POSTGRAPHILE5_VERSION} (Grafast, Amber preset) on the "
            "same tables",
            None,
        ),
    )
}


class ServerError(Exception):
    """A server under test did not start or does not work."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def post(url: str, body: bytes, timeout: float = 60.0) -> tuple[int, bytes]:
    """POST JSON; the status and body, error statuses included (their body says why)."""
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def uvicorn_command(app: str, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        *("-m", "uvicorn", app, "--factory"),
        *("--host", HOST, "--port", str(port), "--workers", str(workers)),
        *("--loop", "uvloop", "--http", "httptools"),
        # WebSockets as `backlog serve` runs them (server/cli.py).
        *("--ws-max-size", str(DEFAULT_SETTINGS.ws_max_message_bytes)),
        *("--ws-per-message-deflate", str(DEFAULT_SETTINGS.ws_compression).lower()),
        *("--no-access-log", "--log-level", "warning"),
    ]


@dataclass
class RunningServer:
    spec: ServerSpec
    workers: int
    port: int
    process: subprocess.Popen[bytes]
    command: list[str]
    log_path: Path | None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int:
        return self.process.pid

    def request_for(self, operation: Operation) -> tuple[str, dict[str, Any]]:
        """The URL and JSON body that ask this server for `operation`."""
        if self.spec.app is None:
            body = operation.peer(self.name)
            assert body is not None, f"{operation.document} has no body for {self.name}"
            return self.url("/graphql"), body
        if self.spec.app == FLOOR_APP:
            return self.url(operation.floor_path), operation.floor
        return self.url("/graphql"), operation.backlog

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def stop(self) -> None:
        if self.spec.app is None:
            postgraphile.stop(self.process)
        else:
            stop_group(self.process, STOP_GRACE_S)


def start(
    spec: ServerSpec,
    *,
    database_url: str,
    workers: int,
    log_dir: Path,
    installed: Mapping[str, Path] | None = None,
) -> RunningServer:
    """Start `spec` and return once it answers a real POST; stopped again if it never does.
    `installed`: each PostGraphile's entry point by server name (bench/__main__.py installs
    them)."""
    port = free_port()
    if spec.app is None:
        entry = (installed or {}).get(spec.name)
        if entry is None:
            raise ServerError(f"{spec.name} is not installed")
        launch = postgraphile.start if spec.name == "postgraphile" else postgraphile5.start
        process = launch(entry, database_url, port=port, workers=workers)
        server = RunningServer(spec, workers, port, process, list(map(str, process.args)), None)
        try:
            postgraphile.wait_until_ready(port, timeout=READY_TIMEOUT_S)
        except (RuntimeError, TimeoutError) as error:
            server.stop()
            raise ServerError(str(error)) from error
        except BaseException:
            server.stop()
            raise
        return server

    command = uvicorn_command(spec.app, port, workers)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        # Development mode: requests act as the demo user, OWNER of acme.
        "BACKLOG_ENV": "development",
        "BACKLOG_DEMO_VIEWER": DEMO_EMAIL,
        "BACKLOG_DB_POOL_SIZE": str(DB_POOL_SIZE),
        "PYTHONUNBUFFERED": "1",
        **spec.env,
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{spec.name}-{port}.log"
    with log_path.open("wb") as log:
        # A session of its own: stop() signals uvicorn's supervisor and workers as one group,
        # and a Ctrl-C in the terminal reaches only us, so our `finally` does the stopping.
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = RunningServer(spec, workers, port, process, command, log_path)
    try:
        _wait_until_ready(server)
    except BaseException:
        server.stop()
        raise
    return server


def _probe(server: RunningServer) -> tuple[str, bytes]:
    # A real request through the app and the database, not just an open port.
    if server.spec.app == FLOOR_APP:
        body = {"variables": {"slug": WORKSPACE_SLUG, "first": 1}}
        return server.url("/list"), orjson.dumps(body)
    return server.url("/graphql"), orjson.dumps({"query": "{ __typename }"})


def _wait_until_ready(server: RunningServer) -> None:
    url, body = _probe(server)
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while True:
        if server.process.poll() is not None:
            raise ServerError(
                f"{server.name} exited with code {server.process.returncode}:\n"
                + _log_tail(server.log_path)
            )
        try:
            status, answer = post(url, body, timeout=5)
        except OSError as error:  # refused while starting
            last = str(error)
        else:
            if status == 200 and b'"errors"' not in answer:
                # With several workers this proves one is up; the warm-up run before every
                # measurement absorbs the others finishing their start.
                return
            last = f"HTTP {status}: {answer[:500]!r}"
            if status >= 500:
                # Only the application answers 5xx, and a broken one will not mend itself.
                raise ServerError(f"{server.name} answers {last}\n" + _log_tail(server.log_path))
        if time.monotonic() > deadline:
            raise ServerError(
                f"{server.name} was not ready within {READY_TIMEOUT_S:.0f} s ({last}):\n"
                + _log_tail(server.log_path)
            )
        time.sleep(0.2)


def wait_until_idle(pids: Callable[[], Iterable[int]]) -> float | None:
    """Block until the process trees of `pids` stop using CPU; the seconds it took, or None if
    they were still busy after IDLE_TIMEOUT_S.

    When wrk stops, the requests it leaves in flight keep running on the server (nothing
    cancels a handler whose client left), and a saturated server may have many queued: left
    alone, they would be billed to the next run and to the statements counted after it.
    """
    began = time.monotonic()
    while time.monotonic() - began < IDLE_TIMEOUT_S:
        meter = CpuMeter()
        meter.start(pids)
        time.sleep(IDLE_WINDOW_S)
        if meter.stop() <= IDLE_CPU_S:
            return time.monotonic() - began
    return None


def _log_tail(log_path: Path | None, lines: int = 40) -> str:
    if log_path is None or not log_path.exists():
        return "(no log)"
    tail = log_path.read_text(errors="replace").splitlines()[-lines:]
    return f"(end of {log_path})\n" + "\n".join(tail)
