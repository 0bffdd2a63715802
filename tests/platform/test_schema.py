"""The schema as clients see it: `schema.graphql` is the exported SDL, always in sync with the
code, and every type, field, argument, input field and enum value has a description."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    introspection_types,
    specified_scalar_types,
)

from schema.build import ARGUMENT_DESCRIPTIONS, PAYLOAD_ERRORS_DESCRIPTION, build_schema, schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_committed_schema_matches_the_code():
    assert SCHEMA_FILE.read_text() == schema_sdl(), (
        "schema.graphql is stale: run `.venv/bin/backlog export-schema --output schema.graphql`"
    )


def undescribed(schema: GraphQLSchema) -> list[str]:
    """`Type`, `Type.field`, `Type.field(argument)` and `Enum.VALUE` names that lack one."""
    missing = []
    for name, graphql_type in sorted(schema.type_map.items()):
        if name in introspection_types or name in specified_scalar_types:
            continue
        if not graphql_type.description:
            missing.append(name)
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({argument_name})"
                    for argument_name, argument in field.args.items()
                    if not argument.description
                ]
        elif isinstance(graphql_type, GraphQLInputObjectType):
            missing += [
                f"{name}.{field_name}"
                for field_name, field in graphql_type.fields.items()
                if not field.description
            ]
        elif isinstance(graphql_type, GraphQLEnumType):
            missing += [
                f"{name}.{value_name}"
                for value_name, value in graphql_type.values.items()
                if not value.description
            ]
    return missing


def test_everything_in_the_schema_is_described():
    missing = undescribed(build_schema()._schema)
    assert not missing, f"{len(missing)} without a description:\n" + "\n".join(missing)


def test_uniform_arguments_and_payload_errors_are_described_once_and_printed():
    schema = build_schema()._schema
    issues = schema.type_map["User"].fields["assignedIssues"]
    for name in ("first", "after", "last", "before"):
        assert issues.args[name].description == ARGUMENT_DESCRIPTIONS[name]
    assert (
        schema.mutation_type.fields["issueCreate"].args["input"].description
        == (ARGUMENT_DESCRIPTIONS["input"])
    )
    errors = schema.type_map["IssuePayload"].fields["errors"]
    assert errors.description == PAYLOAD_ERRORS_DESCRIPTION
    sdl = schema_sdl()
    assert ARGUMENT_DESCRIPTIONS["first"] in sdl
    assert PAYLOAD_ERRORS_DESCRIPTION in sdl


def test_a_description_given_in_the_code_is_kept():
    groups = build_schema()._schema.type_map["Workspace"].fields["issueGroups"]
    assert groups.args["first"].description != ARGUMENT_DESCRIPTIONS["first"]
