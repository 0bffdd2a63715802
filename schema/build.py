"""Assembling the executable schema from the types and the guard-rail extensions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from execution.engine import LevelExecutionContext
from schema.accounts import ApiToken
from schema.comments import Comment
from schema.issues import Issue
from schema.labels import Label
from schema.mutation import Mutation
from schema.projects import Project
from schema.query import Query
from schema.users import User
from schema.workflow_states import WorkflowState
from schema.workspace_admin import Invitation
from schema.workspaces import Membership, Workspace

# Every Node type, so `node(id:)` can return each even where no field reaches it directly.
NODE_TYPES = (
    User,
    Workspace,
    Membership,
    Project,
    WorkflowState,
    Label,
    Issue,
    Comment,
    ApiToken,
    Invitation,
)


class BacklogSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Logged once, by `server.errors.ClientErrors`: unexpected errors only, with their
        traceback and path. Strawberry's default would log every error with an excerpt of the
        document, and a document may hold a password or a token."""


def build_schema(
    extensions: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]] = (),
    *,
    level_executor: bool = True,
) -> strawberry.Schema:
    """The schema; `level_executor=False` runs queries with graphql-core's own executor (the
    reference the tests compare with, and a bench baseline)."""
    return BacklogSchema(
        query=Query,
        mutation=Mutation,
        types=NODE_TYPES,
        extensions=list(extensions),
        execution_context_class=LevelExecutionContext if level_executor else None,
    )


def schema_sdl() -> str:
    """The SDL committed as `schema.graphql`."""
    return build_schema().as_str() + "\n"
