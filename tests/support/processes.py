"""Real server processes for tests: a free port, and an environment holding only the settings a
test gives (no `BACKLOG_*` or `DATABASE_URL` of the process running the tests)."""

from __future__ import annotations

import os
import socket
from pathlib import Path


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
    # Never the checkout's `.backlog`, even if a check let the server get that far.
    return {**environment, "BACKLOG_DATA_DIR": str(tmp_path / "data"), **settings}
