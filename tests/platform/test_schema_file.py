"""`schema.graphql` is the exported SDL, always in sync with the code."""

from __future__ import annotations

from pathlib import Path

from graphql import GraphQLObjectType

from schema.build import build_schema, schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_committed_schema_matches_the_code():
    assert SCHEMA_FILE.read_text() == schema_sdl(), (
        "schema.graphql is stale: run `.venv/bin/backlog export-schema --output schema.graphql`"
    )


def test_every_node_type_and_root_field_is_described():
    schema = build_schema()._schema
    undescribed = [
        name
        for name, graphql_type in schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType)
        and "Node" in [i.name for i in graphql_type.interfaces]
        and not graphql_type.description
    ]
    undescribed += [
        f"Query.{name}" for name, field in schema.query_type.fields.items() if not field.description
    ]
    assert undescribed == []
