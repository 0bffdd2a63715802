"""The cost model of `server.cost`: what a document's response can hold at most, computed from
the document and its variables before anything runs."""

from __future__ import annotations

import pytest
from graphql import parse

from schema.build import build_schema
from server.cost import operation_cost

SCHEMA = build_schema()._schema


def cost(document: str, variables: dict | None = None, operation: str | None = None) -> int:
    return operation_cost(SCHEMA, parse(document), operation, variables)


def test_scalars_are_free_and_each_object_costs_one():
    assert cost("{ viewer { id name email } }") == 1
    assert cost('{ workspace(slug: "acme") { id viewer: viewerRole } }') == 1
    assert cost("{ __typename }") == 0


def test_a_connection_multiplies_what_its_page_holds():
    # the connection, then 20 issues with a project each
    document = '{ workspace(slug: "a") { issues(first: 20) { nodes { id project { key } } } } }'
    assert cost(document) == 1 + 1 + 20 + 20


def test_the_default_page_is_50_and_last_counts_like_first():
    assert cost('{ workspace(slug: "a") { issues { nodes { id } } } }') == 1 + 1 + 50
    assert cost('{ workspace(slug: "a") { issues(last: 7) { edges { node { id } } } } }') == (
        1 + 1 + 7 + 7
    )


def test_pages_past_the_maximum_count_as_the_maximum():
    assert cost('{ workspace(slug: "a") { issues(first: 1000) { nodes { id } } } }') == 1 + 1 + 100


def test_the_nested_document_of_the_issue_costs_a_million():
    document = """{ workspace(slug: "a") { issues(first: 100) { nodes { project {
      issues(first: 100) { nodes { project { issues(first: 100) { nodes { id } } } } } } } } } }"""
    assert cost(document) == 1 + 1 + 100 + 100 + 100 + 10_000 + 10_000 + 10_000 + 1_000_000


def test_variables_fragments_and_inline_fragments_count():
    document = """
    query ($n: Int) { workspace(slug: "a") { issues(first: $n) { nodes { ...F } } } }
    fragment F on Issue { assignee { id } ... on Issue { comments(first: 3) { nodes { id } } } }
    """
    assert cost(document, {"n": 10}) == 1 + 1 + 10 + 10 + 10 + 30


def test_nodes_costs_one_per_id_and_other_lists_their_largest_size():
    assert cost('{ nodes(ids: ["a", "b", "c"]) { id } }') == 3
    board = '{ workspace(slug: "a") { issueGroups(first: 2) { issues { nodes { id } } } } }'
    assert cost(board) == 1 + 100 + 100 + 100 * 2


def test_a_list_s_first_pages_only_the_next_connection_down():
    document = """{ workspace(slug: "a") { issueGroups(first: 2) { issues {
      nodes { comments { nodes { id } } } } } } }"""
    assert cost(document) == 1 + 100 + 100 + 100 * 2 + 100 * 2 + 100 * 2 * 50


def test_variables_count_as_execution_coerces_them():
    document = (
        'query ($n: Int = 30) { workspace(slug: "a") { issues(first: $n) { nodes { id } } } }'
    )
    assert cost(document) == 1 + 1 + 30  # the default
    assert cost(document, {"n": 40.0}) == 1 + 1 + 40  # a whole float is an Int
    assert cost(document, {"n": None}) == 1 + 1 + 50  # explicit null: the server's default


def test_only_the_operation_that_runs_counts():
    document = 'query A { viewer { id } } query B { nodes(ids: ["a", "b"]) { id } }'
    assert cost(document, operation="A") == 1
    assert cost(document, operation="B") == 2
    assert cost(document) == 0  # ambiguous: execution refuses it


@pytest.mark.parametrize("first", [None, "x", True, -5])
def test_odd_page_values_do_not_break_the_count(first):
    document = 'query ($n: Int) { workspace(slug: "a") { issues(first: $n) { nodes { id } } } }'
    assert cost(document, {"n": first}) in {2 + 50, 2 + 1, 2}
