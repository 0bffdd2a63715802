"""The SELECTs behind every loader, each already scoped to what a viewer may read.

Each function returns a `Select` whose rows carry the labels the GraphQL types read. Scoping is
decided by `auth.policies.read_scope` and applied here in SQL (through the parameters of
`scope_params`), so that a row the viewer may not see never leaves the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Float, any_, bindparam, exists, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from db import models

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Select, Table

users = models.table_of(models.User)
workspaces = models.table_of(models.Workspace)
memberships = models.table_of(models.Membership)
projects = models.table_of(models.Project)
workflow_states = models.table_of(models.WorkflowState)
labels = models.table_of(models.Label)
issues = models.table_of(models.Issue)
issue_labels = models.table_of(models.IssueLabel)
comments = models.table_of(models.Comment)
api_tokens = models.table_of(models.ApiToken)

USER_COLUMNS = (users.c.id, users.c.email, users.c.name, users.c.created_at)
activity = models.table_of(models.Activity)


def readable_columns(table: Any) -> tuple[Any, ...]:
    """Every column but the search vector, which only search reads (and it is large)."""
    return tuple(column for column in table.c if column.key != "search_vector")


ISSUE_COLUMNS = (*readable_columns(issues), projects.c.key.label("project_key"))
COMMENT_COLUMNS = readable_columns(comments)


# The viewer's scope travels as two bind parameters, so each SELECT below is built once per
# process and compiled once per shape (see db/session.py `CompiledStatements`).
SCOPE_WORKSPACES = bindparam("scope_workspace_ids", type_=ARRAY(BigInteger))
SCOPE_VIEWER = bindparam("scope_viewer_id", type_=BigInteger)


def typed_param(name: str, column: Any) -> Any:
    """A named bind parameter of `column`'s type (for statement templates built once)."""
    return bindparam(name, type_=column.type)


def column_params(table: Table, *names: str) -> dict[str, Any]:
    """The values of an INSERT whose parameters are named like the columns they fill: for each
    column named, a bind parameter of that name and the column's type."""
    return {name: typed_param(name, table.c[name]) for name in names}


USER_WITH_EMAIL = func.lower(users.c.email) == typed_param("email", users.c.email)
"""The account of `:email`, lower-cased by the caller: an email names one account whatever its
case, and the unique index on `lower(email)` finds it."""


@dataclass(frozen=True, slots=True)
class ReadScope:
    """What one viewer may read, as plain values: the workspaces whose rows they see, and their
    own user id (for the users they see). `auth.policies.read_scope` makes it."""

    workspace_ids: list[int]
    viewer_id: int | None


def scope_params(scope: ReadScope) -> dict[str, Any]:
    """Values of the scope parameters; every scoped statement needs them."""
    return {"scope_workspace_ids": scope.workspace_ids, "scope_viewer_id": scope.viewer_id}


def in_scope(column: ColumnElement[Any]) -> ColumnElement[bool]:
    return column == any_(SCOPE_WORKSPACES)


@cache
def visible_users() -> Select[Any]:
    """Users who are the viewer or share a workspace with them."""
    shares_workspace = exists().where(
        memberships.c.user_id == users.c.id, in_scope(memberships.c.workspace_id)
    )
    # An anonymous viewer's id is NULL, which equals no user.
    return select(*USER_COLUMNS).where((users.c.id == SCOPE_VIEWER) | shares_workspace)


@cache
def visible_workspaces() -> Select[Any]:
    return select(workspaces).where(in_scope(workspaces.c.id))


@cache
def visible_rows(table: Table) -> Select[Any]:
    """The rows of `table` in the viewer's workspaces, for the tables whose rows each carry their
    workspace (memberships, projects, workflow states, labels, comments, activity)."""
    return select(*readable_columns(table)).where(in_scope(table.c.workspace_id))


@cache
def visible_issues() -> Select[Any]:
    return (
        select(*ISSUE_COLUMNS)
        .select_from(issues.join(projects, projects.c.id == issues.c.project_id))
        .where(in_scope(issues.c.workspace_id))
    )


@cache
def countable_issues() -> Select[Any]:
    """`visible_issues` without the join that only supplies `project_key`: for counting."""
    return select(issues.c.id).where(in_scope(issues.c.workspace_id))


@cache
def issue_labels_of() -> Select[Any]:
    """Labels joined to the issues they are attached to (the parent is `issue_labels.issue_id`)."""
    return (
        select(*labels.c)
        .select_from(labels.join(issue_labels, issue_labels.c.label_id == labels.c.id))
        .where(in_scope(issue_labels.c.workspace_id))
    )


def _identity(*extra_columns: Any) -> Select[Any]:
    """A user with every (workspace, role) they hold, in one row: a request's first statement."""
    return (
        select(
            users.c.id,
            func.array_remove(func.array_agg(memberships.c.workspace_id), None).label(
                "workspace_ids"
            ),
            func.array_remove(func.array_agg(memberships.c.role), None).label("roles"),
            *extra_columns,
        )
        .select_from(users.outerjoin(memberships, memberships.c.user_id == users.c.id))
        .group_by(users.c.id, *extra_columns)
    )


@cache
def viewer_identity_by_email() -> Select[Any]:
    """Parameter: `email`, lower-cased."""
    return _identity().where(USER_WITH_EMAIL)


@cache
def viewer_identity_by_id() -> Select[Any]:
    """Parameters: `user_id`, and `issued_at` (Unix seconds) of the access token, which must
    not be older than the account's sessions (a password reset ends those before it)."""
    issued_at = func.to_timestamp(bindparam("issued_at", type_=Float))
    return _identity().where(
        users.c.id == bindparam("user_id", type_=BigInteger),
        users.c.sessions_valid_after.is_(None) | (users.c.sessions_valid_after <= issued_at),
    )


@cache
def viewer_identity_by_api_token() -> Select[Any]:
    """Parameter: `token_hash`; only a token neither revoked nor expired matches."""
    return (
        _identity(api_tokens.c.scope)
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(
            api_tokens.c.token_hash == bindparam("token_hash", type_=api_tokens.c.token_hash.type),
            api_tokens.c.revoked_at.is_(None),
            (api_tokens.c.expires_at.is_(None)) | (api_tokens.c.expires_at > func.now()),
        )
    )
