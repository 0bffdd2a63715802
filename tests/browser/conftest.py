"""The server the browser tests drive."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.actors import TEST_JWT_SECRET
from tests.support.processes import running_server

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def backlog_server(seeded_database_url: str, tmp_path: Path) -> Iterator[str]:
    """`backlog serve` on a free port of 127.0.0.1, serving the seeded database, where the test
    access tokens (`tests.support.credentials`) are valid."""
    with running_server(
        tmp_path,
        "--host",
        "127.0.0.1",
        DATABASE_URL=seeded_database_url,
        BACKLOG_ENV="development",
        BACKLOG_JWT_SECRET=TEST_JWT_SECRET,
        # Off: what these requests spent would be committed, and other tests' budgets with it.
        BACKLOG_RATE_LIMIT="0",
    ) as port:
        yield f"http://127.0.0.1:{port}"
