"""The cost limit (`server.cost`): a document whose response could hold more objects than
`BACKLOG_MAX_COST` is refused before any of its SQL runs; one at exactly the limit runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from graphql import parse
from sqlalchemy import text

from bench.workloads import BOARD_VIEW, DETAIL_VIEW, LIST_VIEW
from execution.graphql_internals import graphql_schema
from schema.build import build_schema
from server.cost import _KNOWN_COSTS, operation_cost
from tests.support.factories import ACME_PK

NESTED = """{ workspace(slug: "acme") { issues(first: 100) { nodes { project {
  issues(first: 100) { nodes { project { issues(first: 100) { nodes { id } } } } } } } } } }"""

# 1 workspace + 1 connection + 40 issues with a project each
FORTY = '{ workspace(slug: "acme") { issues(first: $n) { nodes { id project { key } } } } }'
FORTY_COST = 1 + 1 + 40 + 40


@pytest.fixture
async def limited(make_client) -> AsyncIterator:
    async with make_client(BACKLOG_MAX_COST=FORTY_COST) as client:
        yield client


def _refusal(body: dict) -> dict:
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
    return error["extensions"]


async def test_the_nested_connections_document_is_refused_before_its_sql(client, statements):
    response = await client.post("/graphql", json={"query": NESTED})

    extensions = _refusal(response.json())
    assert extensions == {"code": "COST_LIMIT_EXCEEDED", "cost": 1_030_302, "limit": 50_000}
    assert statements.count == 1, statements.statements  # the viewer lookup only


async def test_a_document_at_exactly_the_limit_runs(limited):
    query = "query ($n: Int) " + FORTY
    response = await limited.post("/graphql", json={"query": query, "variables": {"n": 40}})

    body = response.json()
    assert "errors" not in body, body
    assert len(body["data"]["workspace"]["issues"]["nodes"]) == 40


async def test_one_more_object_is_refused_with_the_cost_of_the_variables_given(limited):
    query = "query ($n: Int) " + FORTY
    response = await limited.post("/graphql", json={"query": query, "variables": {"n": 41}})

    assert _refusal(response.json()) == {
        "code": "COST_LIMIT_EXCEEDED",
        "cost": FORTY_COST + 2,
        "limit": FORTY_COST,
    }


@pytest.mark.parametrize(
    "document", [LIST_VIEW, DETAIL_VIEW, BOARD_VIEW], ids=["list", "detail", "board"]
)
async def test_the_benchmark_views_pass_the_default_limit(client, document):
    variables = {"slug": "acme", "identifier": "ENG-1", "first": 50}
    response = await client.post("/graphql", json={"query": document, "variables": variables})
    assert all(
        e["extensions"]["code"] != "COST_LIMIT_EXCEEDED" for e in response.json().get("errors", [])
    )


async def test_a_variable_s_default_page_is_counted(limited):
    query = "query ($n: Int = 41) " + FORTY
    response = await limited.post("/graphql", json={"query": query})

    assert _refusal(response.json())["cost"] == FORTY_COST + 2


async def test_the_board_shows_at_most_100_groups_as_its_cost_counts(client, connection):
    await connection.execute(
        text(
            "INSERT INTO projects (workspace_id, key, name) "
            "SELECT :w, 'P' || n, 'Project ' || n FROM generate_series(1, 120) AS n"
        ),
        {"w": ACME_PK},
    )
    query = '{ workspace(slug: "acme") { issueGroups(by: PROJECT, first: 1) { totalCount } } }'

    response = await client.post("/graphql", json={"query": query})

    assert len(response.json()["data"]["workspace"]["issueGroups"]) == 100


@pytest.mark.parametrize(("first", "objects"), [(None, 100), (300, 300), (900, 500)])
async def test_a_change_set_holds_as_many_objects_as_its_first(client, first, objects):
    # Its `nodes` are a page of `first` (100 unless given, 500 at most: more is refused when it
    # runs), each with its state here.
    query = """query ($first: Int) { workspace(slug: "acme") { changes(first: $first) {
        nodes { id ... on Issue { state { name } } } } } }"""

    response = await client.post("/graphql", json={"query": query, "variables": {"first": first}})

    assert response.json()["extensions"]["cost"]["objects"] == 1 + 1 + 2 * objects


def test_a_document_s_cost_is_kept_per_value_of_the_variables_that_size_it():
    # Costs are kept per parsed document; each value of the variables given to `first`,
    # `last` or `ids` has its own, and other variables share one.
    schema = graphql_schema(build_schema())
    document = parse(
        "query ($f: Int, $l: Int, $ids: [ID!]!, $slug: String!) { workspace(slug: $slug) {"
        " issues(first: $f, last: $l) { nodes { id project { key } } } } nodes(ids: $ids) { id } }"
    )

    def cost(**variables: object) -> int:
        return operation_cost(schema, document, None, {"slug": "acme", "ids": [], **variables})

    assert cost(f=40) == FORTY_COST
    assert cost(f=41) == FORTY_COST + 2
    assert cost(f=40, slug="globex") == FORTY_COST
    assert cost(l=3) == 1 + 1 + 3 + 3  # `first` null: `last` sizes the page
    assert cost(f=None, l=4) == 1 + 1 + 4 + 4
    assert cost(f=40, ids=["a", "b"]) == FORTY_COST + 2
    assert cost() == 1 + 1 + 50 + 50  # the default page
    assert cost(f=40) == FORTY_COST
    known = _KNOWN_COSTS.get(schema, document)
    assert known is not None
    kept = known.costs
    held = len(kept)
    many = [f"id{n:03}" for n in range(100)]
    assert cost(f=40, ids=many) == FORTY_COST + 100
    assert cost(f=40, ids=many[:60]) == FORTY_COST + 60
    assert len(kept) == held  # long values are walked each time, not kept
