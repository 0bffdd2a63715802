"""A relation is declared once (`schema.relation_field.relation`), so it cannot lose its batched
path: every field that awaits something is a batched relation, or a listed exception."""

from __future__ import annotations

from graphql import GraphQLObjectType

from execution.batching import batch_resolver_of
from schema.build import build_schema

# Awaiting fields that are not relations, and why each needs no batch: it is read for one parent
# per request at most.
UNBATCHED = {
    ("User", "apiTokens"): "only ever the viewer's own, so one user",
    ("Workspace", "invitations"): "an ADMIN+ screen of one workspace",
    ("Workspace", "issue"): "one issue by identifier, through its own DataLoader",
}


def test_every_awaiting_field_is_a_batched_relation():
    schema = build_schema()._schema
    unbatched = set()
    for type_name, graphql_type in schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType) or type_name in {
            "Query",
            "Mutation",
            "Subscription",
        }:
            continue
        for field_name, field in graphql_type.fields.items():
            definition = (field.extensions or {}).get("strawberry-definition")
            if definition is None or not definition.is_async:
                continue
            if batch_resolver_of(definition) is None:
                unbatched.add((type_name, field_name))
    assert unbatched == set(UNBATCHED)
