"""Fixtures of the issue tests: the seeded rows, read independently of the API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.issue_rows import IssueRow, snapshot, user_pk


@pytest.fixture
async def rows(connection: Any) -> list[IssueRow]:
    """Acme's issues as plain SQL reads them."""
    return await snapshot(connection)


@pytest.fixture
async def me(connection: Any) -> int:
    """The demo owner's primary key: who `isMe` means for the default client."""
    return await user_pk(connection)
