"""Projects: the `Project` type, its mutations' inputs and payloads, and `ProjectMutations`."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import strawberry

from core.ids import to_global_id
from resolvers import projects as use_cases
from schema import refs
from schema.issue_filters import issue_lists
from schema.node import Node
from schema.pagination import Connection
from schema.payloads import IDEMPOTENCY_KEY, mutation
from schema.relation_field import relation
from schema.relations import users_at, workspaces_of
from schema.user_errors import UserError

if TYPE_CHECKING:
    from sqlalchemy import Row


_leads = users_at("lead_id")


_issues = issue_lists("issues_of_project", "issues")


@strawberry.type(description="A group of issues sharing a key, such as `ENG`.")
class Project(Node):
    pk: strawberry.Private[int]
    workspace_id: strawberry.Private[int]
    lead_id: strawberry.Private[int | None]
    key: str = strawberry.field(description="Prefix of its issues' identifiers.")
    name: str = strawberry.field(description="What people see: 1 to 200 characters.")
    description: str = strawberry.field(description="Markdown.")
    created_at: datetime = strawberry.field(description="When it was created.")
    archived_at: datetime | None = strawberry.field(
        description="When it was archived (no new issues can be added); null while it is active."
    )

    loader_name = "project_by_id"

    @classmethod
    def from_row(cls, row: Row[Any]) -> Project:
        return cls(
            id=to_global_id("Project", row.id),
            pk=row.id,
            workspace_id=row.workspace_id,
            lead_id=row.lead_id,
            key=row.key,
            name=row.name,
            description=row.description,
            created_at=row.created_at,
            archived_at=row.archived_at,
        )

    workspace = relation(workspaces_of, refs.Workspace, description="The workspace it belongs to.")

    lead = relation(
        _leads,
        refs.User | None,
        description="The member who leads it; null if nobody does, or if you can no longer see "
        "their account.",
    )

    issues = relation(
        _issues,
        Connection[refs.Issue],
        description="The project's issues, newest first unless `orderBy` says otherwise.",
    )


@strawberry.input(description="A new project.")
class ProjectCreateInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace to create it in.")
    key: str = strawberry.field(
        description="Prefix of its issues' identifiers: a letter, then up to 9 letters or "
        "digits; upper-cased; unique in the workspace."
    )
    name: str = strawberry.field(description="1 to 200 characters.")
    description: str = strawberry.field(default="", description="Markdown, at most 64 KiB.")
    lead_id: strawberry.ID | None = strawberry.field(
        default=None, description="A member of the workspace."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Changes to a project: only the fields given are changed.")
class ProjectUpdateInput:
    id: strawberry.ID = strawberry.field(description="The project to change.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="1 to 200 characters; cannot be null."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Markdown, at most 64 KiB; `null` empties it."
    )
    lead_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="`null` removes the lead."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="The project to archive or unarchive.")
class ProjectArchiveInput:
    id: strawberry.ID = strawberry.field(description="The project to archive or unarchive.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The project a mutation created or changed, or why it could not.")
class ProjectPayload:
    project: refs.Project | None = strawberry.field(
        default=None, description="The project as it is now; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ProjectMutations:
    """Project mutations: part of the root `Mutation`."""

    project_create = mutation(
        use_cases.project_create,
        ProjectCreateInput,
        ProjectPayload,
        description="Create a project (ADMIN+).",
        project=Project.from_row,
    )

    project_update = mutation(
        use_cases.project_update,
        ProjectUpdateInput,
        ProjectPayload,
        description="Rename a project, or change its description or lead.",
        project=Project.from_row,
    )

    project_archive = mutation(
        partial(use_cases.project_set_archived, archived=True),
        ProjectArchiveInput,
        ProjectPayload,
        description="Archive a project (ADMIN+): its issues stay; no new ones can be added.",
        project=Project.from_row,
    )

    project_unarchive = mutation(
        partial(use_cases.project_set_archived, archived=False),
        ProjectArchiveInput,
        ProjectPayload,
        description="Bring an archived project back (ADMIN+).",
        project=Project.from_row,
    )
