"""Start-up explains itself: a bad setting ends `backlog serve` at once, non-zero, with one line
naming the setting (no traceback, no worker restart loop); stopping `python3 dev.py serve` stops
the server and its embedded PostgreSQL too.

Real processes throughout: `backlog` runs as a subprocess, and the dev.py test starts the whole
development server and checks, by process id, that nothing it started outlives it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from server.settings import PROJECT_ROOT
from tests.support.processes import clean_environment, free_port

TEST_SECRET = "a-secret-for-the-start-up-tests-of-32-bytes-or-more"
# Each failure must come well before anything a worker or a retry loop would take.
FAILS_WITHIN_SECONDS = 10


def backlog_serve(
    tmp_path: Path, *options: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    """`backlog serve` on a free port (unless `options` name one), run to its end."""
    port = () if "--port" in options else ("--port", str(free_port()))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", *port, *options],
        cwd=tmp_path,  # no `.env` file to read
        env=clean_environment(tmp_path, **settings),
        capture_output=True,
        text=True,
        timeout=FAILS_WITHIN_SECONDS * 3,
    )
    assert time.monotonic() - started < FAILS_WITHIN_SECONDS, result.stderr
    return result


def the_one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The process failed, saying why in exactly one line, and printed no traceback."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    return free_port()


@pytest.fixture
def unreachable_database_url(closed_port: int) -> str:
    return f"postgresql://backlog:hunter2@127.0.0.1:{closed_port}/backlog"


def test_missing_jwt_secret_in_production(tmp_path, unreachable_database_url):
    result = backlog_serve(
        tmp_path, DATABASE_URL=unreachable_database_url, BACKLOG_ENV="production"
    )

    line = the_one_line(result)
    assert line.startswith("backlog serve: BACKLOG_JWT_SECRET is not set")
    assert "32 bytes" in line


def test_short_jwt_secret(tmp_path, unreachable_database_url):
    result = backlog_serve(
        tmp_path, DATABASE_URL=unreachable_database_url, BACKLOG_JWT_SECRET="too-short"
    )

    assert "BACKLOG_JWT_SECRET is too short: 9 bytes" in the_one_line(result)


@pytest.mark.parametrize(
    "credentials",
    [
        "backlog:hunter2@127.0.0.1:{port}/backlog",
        "backlog@127.0.0.1:{port}/backlog?password=hunter2",
    ],
    ids=["password-in-address", "password-parameter"],
)
def test_unreachable_database_url(tmp_path, closed_port, credentials):
    url = "postgresql://" + credentials.format(port=closed_port)

    result = backlog_serve(tmp_path, DATABASE_URL=url, BACKLOG_JWT_SECRET=TEST_SECRET)

    line = the_one_line(result)
    assert line.startswith("backlog serve: DATABASE_URL: cannot connect to PostgreSQL at ")
    assert f"127.0.0.1:{closed_port}" in line
    assert "connection refused" in line
    assert "hunter2" not in line


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql//backlog:hunter2@db.example:5432/backlog", "not a PostgreSQL URL"),
        ("mysql://backlog:hunter2@db.example/backlog", "not a PostgreSQL URL"),
        ("postgresql://backlog:hunter2@db.example:54x2/backlog", "'54x2'"),
        ("postgresql://backlog:hunter2@127.0.0.1/backlog?sslmode=require", "'sslmode'"),
    ],
    ids=["no-colon", "not-postgresql", "port-not-a-number", "unknown-parameter"],
)
def test_malformed_database_url(tmp_path, url, reason):
    result = backlog_serve(tmp_path, DATABASE_URL=url, BACKLOG_JWT_SECRET=TEST_SECRET)

    line = the_one_line(result)
    assert line.startswith("backlog serve: DATABASE_URL: ")
    assert reason in line
    assert "hunter2" not in line


def test_invalid_setting_value(tmp_path, unreachable_database_url):
    result = backlog_serve(
        tmp_path,
        DATABASE_URL=unreachable_database_url,
        BACKLOG_JWT_SECRET=TEST_SECRET,
        BACKLOG_DB_POOL_SIZE="ten",
    )

    line = the_one_line(result)
    assert line.startswith("backlog serve: BACKLOG_DB_POOL_SIZE: ")
    assert "'ten'" in line


@pytest.mark.parametrize(
    "bad", ["BACKLOG_JWT_SECRET", "DATABASE_URL"], ids=["secret-missing", "database-unreachable"]
)
def test_several_workers_stop_once_on_a_bad_setting(tmp_path, unreachable_database_url, bad):
    """Checked in the parent, before uvicorn starts workers: no worker is started, so none is
    restarted, and the process ends with the one line."""
    settings = {"DATABASE_URL": unreachable_database_url, "BACKLOG_JWT_SECRET": TEST_SECRET}
    if bad == "BACKLOG_JWT_SECRET":
        del settings[bad]

    result = backlog_serve(tmp_path, "--workers", "2", **settings)

    assert the_one_line(result).startswith(f"backlog serve: {bad}")
    assert "Started" not in result.stdout + result.stderr  # uvicorn's parent or a worker


@pytest.mark.parametrize("workers", ["1", "2"])
def test_port_in_use(tmp_path, seeded_database_url, workers):
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]

        result = backlog_serve(
            tmp_path,
            "--port",
            str(port),
            "--workers",
            workers,
            DATABASE_URL=seeded_database_url,
            BACKLOG_JWT_SECRET=TEST_SECRET,
        )

    assert the_one_line(result) == (
        f"backlog serve: --port {port}: 127.0.0.1:{port} is already in use "
        "(choose another with --port)"
    )


# ---- dev.py passes a stop request on ---------------------------------------------------------

DEV_PY = PROJECT_ROOT / "dev.py"
DEV_SERVER_STARTS_WITHIN_SECONDS = 60


@pytest.fixture
def dev_py_serve(tmp_path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """`python3 dev.py serve` on a free port, its embedded PostgreSQL in `tmp_path`, answering."""
    venv = PROJECT_ROOT / ".venv"
    if not (venv / "bin" / "backlog").exists():
        pytest.skip("dev.py serve runs .venv/bin/backlog, and there is no .venv here")
    port = free_port()
    data_dir = tmp_path / "data"
    if _dev_py_finds_venv_current(venv):
        dev_py = [str(DEV_PY)]
    else:
        # dev.py would reinstall .venv first (pip, a minute, under the other tests' feet): run
        # its `serve` itself, which is what is tested here, without that step.
        dev_py = [
            "-c",
            f"import sys; sys.path.insert(0, {str(PROJECT_ROOT)!r}); import dev; "
            "sys.exit(dev.COMMANDS[sys.argv[1]](sys.argv[2:]))",
        ]
    process = subprocess.Popen(
        [sys.executable, *dev_py, "serve", "--port", str(port)],
        # As the README's command runs: with the outbox worker (and so the mail sink) at work.
        env=clean_environment(
            tmp_path, BACKLOG_DATA_DIR=str(data_dir), BACKLOG_OUTBOX_WORKER="true"
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # no signal meant for pytest reaches it, nor the reverse
    )
    try:
        _wait_until_healthy(process, port)
        yield process, port, data_dir / "pgdata"
    finally:
        _stop_whatever_is_left(process, data_dir / "pgdata")


def _stop_whatever_is_left(dev_py: subprocess.Popen[bytes], pgdata: Path) -> None:
    """After a failed test: dev.py's session (the server), then a PostgreSQL left behind."""
    session = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(process.pid) == dev_py.pid:
                session.append(process)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(dev_py.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        dev_py.wait(30)
    psutil.wait_procs(session, timeout=30)
    postmaster_pid = pgdata / "postmaster.pid"
    with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError, IndexError):
        os.kill(int(postmaster_pid.read_text().split()[0]), signal.SIGINT)  # a fast shutdown


def _dev_py_finds_venv_current(venv: Path) -> bool:
    stamp = venv / ".backlog-installed"
    if not stamp.exists():
        return False
    inputs = b"".join(
        (PROJECT_ROOT / name).read_bytes() for name in ("requirements.lock", "pyproject.toml")
    )
    return stamp.read_text() == hashlib.sha256(inputs).hexdigest()


def _wait_until_healthy(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + DEV_SERVER_STARTS_WITHIN_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"dev.py serve exited with {process.returncode}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"dev.py serve did not answer /healthz within {DEV_SERVER_STARTS_WITHIN_SECONDS} s")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_to_dev_py_stops_the_server_and_its_postgresql(dev_py_serve, stop):
    """Sent to dev.py alone (as a supervisor or `kill` does; no terminal shares it out)."""
    dev_py, port, pgdata = dev_py_serve
    started = psutil.Process(dev_py.pid).children(recursive=True)
    postmaster = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
    assert [p for p in started if "serve" in p.cmdline()], "no `backlog serve` under dev.py"
    assert postmaster.is_running()

    os.kill(dev_py.pid, stop)  # dev.py alone, not its process group

    assert dev_py.wait(30) == 0
    _gone, alive = psutil.wait_procs([*started, postmaster], timeout=10)
    assert not alive, f"still running after dev.py exited: {[p.cmdline() for p in alive]}"
    assert not (pgdata / "postmaster.pid").exists()  # PostgreSQL shut down cleanly
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


PASSWORD_RESET = (
    'mutation { passwordResetRequest(input: {email: "demo@backlog.dev"}) { errors { code } } }'
)


def test_dev_py_serve_keeps_mail_in_the_development_sink(dev_py_serve, tmp_path):
    """On the embedded database, email goes to the local sink, where `backlog mail` reads it."""
    _, port, pgdata = dev_py_serve
    answer = httpx.post(
        f"http://127.0.0.1:{port}/graphql", json={"query": PASSWORD_RESET}, timeout=10
    )
    assert answer.json()["data"] == {"passwordResetRequest": {"errors": []}}, answer.text
    mail = pgdata.parent / "mail"
    deadline = time.monotonic() + 10
    while not list(mail.glob("*.eml")):
        assert time.monotonic() < deadline, "no mail reached the development sink"
        time.sleep(0.1)
    listing = subprocess.run(
        [sys.executable, "-m", "server.cli", "mail"],
        env=clean_environment(tmp_path, BACKLOG_DATA_DIR=str(pgdata.parent)),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert listing.returncode == 0, listing.stderr
    assert "demo@backlog.dev" in listing.stdout
    assert "Reset your Backlog password" in listing.stdout
