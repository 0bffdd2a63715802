"""Persisted operations: Apollo's automatic persisted queries (a miss, a registration, a hit; by
POST and by GET), shared by every server process through PostgreSQL, and trusted documents
(`backlog operations push`, `BACKLOG_TRUSTED_DOCUMENTS`)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import delete, select

from db.persisted_operations import operation_trust, persisted_operations
from db.session import StatementCounter
from server.settings import PROJECT_ROOT
from tests.support.graphql import without_cost
from tests.support.processes import clean_environment

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import httpx
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MUTATION = (
    'mutation Create { projectCreate(input: {workspaceId: "x", key: "X", name: "x"}) '
    "{ project { id } } }"
)
NOT_FOUND = {
    "message": "PersistedQueryNotFound",
    "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
}
VIEWER = {"data": {"viewer": {"email": "demo@backlog.dev"}}}


def unique_query() -> str:
    """A document no other test has stored (stored documents may outlive a test)."""
    return f"query Viewer_{uuid.uuid4().hex} {{ viewer {{ email }} }}"


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def persisted(document: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256(document)}}


async def test_a_miss_then_a_registration_then_a_hit(client: httpx.AsyncClient) -> None:
    query = unique_query()

    miss = (await client.post("/graphql", json={"extensions": persisted(query)})).json()
    assert miss == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    registered = await client.post(
        "/graphql", json={"query": query, "extensions": persisted(query)}
    )
    assert without_cost(registered) == VIEWER
    hit = await client.post("/graphql", json={"extensions": persisted(query)})
    assert without_cost(hit) == VIEWER


async def test_a_hit_costs_what_the_document_costs(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    """Known to the process, a hash costs no statement: its document is cached."""
    query = unique_query()
    await client.post("/graphql", json={"query": query, "extensions": persisted(query)})
    counts = []
    for body in ({"query": query}, {"extensions": persisted(query)}):
        counter = StatementCounter()
        counter.attach(connection.sync_connection)
        try:
            assert without_cost(await client.post("/graphql", json=body)) == VIEWER
        finally:
            counter.detach(connection.sync_connection)
        counts.append(counter.count)
    assert counts[0] == counts[1] > 0


async def test_another_process_finds_a_registration(
    make_client: Callable[..., httpx.AsyncClient], connection: AsyncConnection
) -> None:
    query = unique_query()
    async with make_client() as first, make_client() as second:
        await first.post("/graphql", json={"query": query, "extensions": persisted(query)})
        hit = await second.post("/graphql", json={"extensions": persisted(query)})
    assert without_cost(hit) == VIEWER
    stored = await connection.execute(
        select(persisted_operations.c.document, persisted_operations.c.trusted).where(
            persisted_operations.c.sha256 == sha256(query)
        )
    )
    assert stored.all() == [(query, False)]


async def test_a_hash_that_is_not_the_documents(client: httpx.AsyncClient) -> None:
    query = unique_query()
    response = await client.post(
        "/graphql", json={"query": query, "extensions": persisted(query + " ")}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"


async def test_a_hit_over_get(client: httpx.AsyncClient) -> None:
    query = unique_query()
    await client.post("/graphql", json={"query": query, "extensions": persisted(query)})
    response = await client.get(
        "/graphql",
        params={"extensions": json.dumps(persisted(query)), "variables": "{}"},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 200
    assert without_cost(response) == VIEWER


async def test_a_mutation_over_get_is_refused(client: httpx.AsyncClient) -> None:
    await client.post("/graphql", json={"query": MUTATION, "extensions": persisted(MUTATION)})
    response = await client.get("/graphql", params={"extensions": json.dumps(persisted(MUTATION))})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "message": "mutations are not allowed when using GET",
            "extensions": {"code": "BAD_REQUEST"},
        }
    ]


@pytest.fixture
def anonymous(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return make_client(BACKLOG_ENV="production", BACKLOG_TRUSTED_DOCUMENTS="anonymous")


async def test_anonymous_callers_run_only_trusted_documents(
    anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    trusted, other = unique_query(), unique_query()
    await connection.execute(operation_trust(), {"sha256": sha256(trusted), "document": trusted})
    async with anonymous:
        for body in (
            {"query": other},
            {"query": other, "extensions": persisted(other)},  # no APQ registration
            {"extensions": persisted(other)},
        ):
            refused = await anonymous.post("/graphql", json=body)
            assert refused.status_code == 403
            assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
        for body in ({"extensions": persisted(trusted)}, {"query": trusted}):
            allowed = await anonymous.post("/graphql", json=body)
            assert without_cost(allowed) == {"data": {"viewer": None}}
    stored = await connection.execute(
        select(persisted_operations.c.sha256).where(persisted_operations.c.sha256 == sha256(other))
    )
    assert stored.all() == []


async def test_operations_push(
    tmp_path: Path, seeded_database_url: str, engine: AsyncEngine
) -> None:
    known, relay = unique_query(), unique_query()
    codegen = {sha256(known): known}
    relay_manifest = {hashlib.md5(relay.encode()).hexdigest(): relay, sha256(known): known}
    try:
        assert push(tmp_path, seeded_database_url, codegen).stdout == (
            "Trusted documents: 1 new, 0 known.\n"
        )
        assert push(tmp_path, seeded_database_url, relay_manifest).stdout.endswith(
            "Trusted documents: 1 new, 1 known.\n"
        )
        async with engine.connect() as connection:
            stored = await connection.execute(
                select(persisted_operations.c.document, persisted_operations.c.trusted).where(
                    persisted_operations.c.sha256.in_([sha256(known), sha256(relay)])
                )
            )
            assert sorted(stored.all()) == sorted([(known, True), (relay, True)])
        wrong = push(tmp_path, seeded_database_url, {sha256(known): relay})
        assert wrong.returncode == 1
        assert "not the SHA-256 of its document" in wrong.stderr
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                delete(persisted_operations).where(
                    persisted_operations.c.sha256.in_([sha256(known), sha256(relay)])
                )
            )


def push(tmp_path: Path, url: str, manifest: dict[str, str]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(manifest))
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "operations", "push", str(path)],
        cwd=PROJECT_ROOT,
        env=clean_environment(tmp_path, DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=60,
    )
