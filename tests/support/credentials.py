"""Real credentials for a test's callers: access tokens signed as the server expects them, so a
role is played through the same Bearer path a client takes (not the development demo viewer)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from auth.tokens import AccessTokenIssuer
from tests.support.actors import TEST_JWT_SECRET
from tests.support.graphql import Body, GraphQL, without_cost

ISSUER = AccessTokenIssuer(
    secret=TEST_JWT_SECRET,
    issuer="backlog",  # the server's defaults (BACKLOG_JWT_ISSUER, BACKLOG_JWT_AUDIENCE)
    audience="backlog-api",
    lifetime=timedelta(minutes=5),
)


async def access_token(connection: AsyncConnection, email: str) -> str | None:
    """An access token for the user with this email; None if there is no such user."""
    user = await connection.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": email})
    return None if user is None else ISSUER.issue(user)[0]


def signed_in_caller(client: httpx.AsyncClient, connection: AsyncConnection, email: str) -> GraphQL:
    """A `GraphQL` callable for the user with this email, with a Bearer access token minted on
    its first call (so a user the test made is found); anonymous if there is no such user."""
    token: list[str | None] = []

    async def call(query: str, variables: dict[str, Any] | None = None) -> Body:
        if not token:
            token.append(await access_token(connection, email))
        headers = {"Authorization": f"Bearer {token[0]}"} if token[0] else {}
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        return without_cost(response)

    return call
