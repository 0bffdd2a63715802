"""The one way a test calls the API, and the checks shared by several modules on its answers.

- `request(client, query, variables)`: the response body, whatever it holds.
- `graphql_caller(client)`: a `GraphQL` callable (what the `gql` fixtures are), asserting HTTP 200.
- `data(client, query, variables)`: the `data` of a request that must have no errors.

The first two hand back the body without its `extensions`, once `without_cost` has checked that
an executed request's tell its cost (tests/platform/test_rate_limits.py checks the figures), so
that a test compares what its document asked for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

GraphQL = Callable[..., Awaitable[dict[str, Any]]]
Body = dict[str, Any]


async def request(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> Body:
    """POST a document; the JSON body, errors included."""
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    return without_cost(response.json())


def without_cost(answer: httpx.Response | Body) -> Body:
    """The body without `extensions`: where the document ran, they must hold its cost."""
    body = dict(_body(answer))
    extensions = body.pop("extensions", None)
    if extensions is not None:
        cost = extensions["cost"]
        assert isinstance(cost["objects"], int) and cost["points"] == 1 + cost["objects"] // 100
    return body


def graphql_caller(client: httpx.AsyncClient) -> GraphQL:
    async def call(query: str, variables: dict[str, Any] | None = None) -> Body:
        response = await client.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        return without_cost(response.json())

    return call


async def data(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> Body:
    """POST a document that must succeed; its `data`."""
    body = await request(client, query, variables)
    assert "errors" not in body, body
    values: Body = body["data"]
    return values


def _body(answer: httpx.Response | Body) -> Body:
    if isinstance(answer, httpx.Response):
        body: Body = answer.json()
        return body
    return answer


def error_codes(answer: httpx.Response | Body) -> list[str]:
    """The `extensions.code` of each top-level error, in order."""
    return [e["extensions"]["code"] for e in _body(answer).get("errors", [])]


def payload_codes(payload: dict[str, Any]) -> list[str]:
    """The codes of a mutation payload's typed errors, in order."""
    return [e["code"] for e in payload["errors"]]


def refused(
    answer: httpx.Response | Body, field: str | None = None, *, code: str | None = None
) -> bool:
    """A GraphQL error instead of a value: `field` (or, unnamed, some root field) is null (or
    `data` is), and with `code`, the first error carries that code."""
    body = _body(answer)
    values = body.get("data")
    if values is None:
        nulled = True
    elif field is None:
        nulled = None in values.values()
    else:
        nulled = values.get(field) is None
    if not nulled or not body.get("errors"):
        return False
    return code is None or body["errors"][0]["extensions"]["code"] == code


def assert_bad_input(body: Body, *words: str, field: str | None = "workspace") -> dict[str, Any]:
    """The request failed with BAD_USER_INPUT and nulled `field` (None: the whole `data`), with
    each of `words` in the message; returns the error."""
    expected = None if field is None else {field: None}
    assert body.get("data") == expected, body
    error: dict[str, Any] = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    for word in words:
        assert word in error["message"], error
    return error
