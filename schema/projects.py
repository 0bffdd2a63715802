"""Projects: the `Project` type, its mutations' inputs and payloads, and `ProjectMutations`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import projects as use_cases
from schema import refs
from schema.inputs import (
    DESCRIPTION,
    DISPLAY_NAME,
    SHOWN_NAME,
    TEXT_KIB,
    NewInWorkspace,
    archive_input,
    changed_if_given,
    idempotent,
)
from schema.issue_filters import issue_lists
from schema.mutation_field import archive_mutations, mutation
from schema.node import Node
from schema.pagination import Connection
from schema.payloads import object_payload
from schema.relation_field import relation
from schema.relations import nodes_at, workspace_relation

_leads = nodes_at(refs.User, "lead_id")


_issues = issue_lists("issues_of_project", "issues")


@strawberry.type(description="A group of issues sharing a key, such as `ENG`.")
class Project(Node):
    workspace_id: strawberry.Private[int]
    lead_id: strawberry.Private[int | None]
    key: str = strawberry.field(
        description="The prefix of its issues' identifiers (`ENG` of `ENG-42`): upper case, "
        "unique in the workspace."
    )
    name: str = strawberry.field(description=SHOWN_NAME)
    description: str = strawberry.field(description="Markdown.")
    created_at: datetime = strawberry.field(description="When it was created.")
    archived_at: datetime | None = strawberry.field(
        description="When it was archived (no new issues can be added); null while it is active."
    )

    workspace = workspace_relation()

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
@idempotent
class ProjectCreateInput(NewInWorkspace):
    key: str = strawberry.field(
        description="Prefix of its issues' identifiers: a letter, then up to 9 letters or "
        "digits; upper-cased; unique in the workspace."
    )
    name: str = strawberry.field(description=f"{DISPLAY_NAME}.")
    description: str = strawberry.field(default="", description=DESCRIPTION)
    lead_id: strawberry.ID | None = strawberry.field(
        default=None, description="A member of the workspace."
    )


@strawberry.input(description="Changes to a project: only the fields given are changed.")
@idempotent
class ProjectUpdateInput:
    id: strawberry.ID = strawberry.field(description="The project to change.")
    name: str | None = changed_if_given(f"{DISPLAY_NAME}; cannot be null.")
    description: str | None = changed_if_given(
        f"Markdown, at most {TEXT_KIB} KiB; `null` empties it."
    )
    lead_id: strawberry.ID | None = changed_if_given("`null` removes the lead.")


ProjectArchiveInput = archive_input("project")


ProjectPayload = object_payload(Project, "project")


@strawberry.type
class ProjectMutations:
    """Project mutations: part of the root `Mutation`."""

    project_create = mutation(
        use_cases.project_create,
        ProjectCreateInput,
        ProjectPayload,
        description="Create a project (ADMIN+).",
    )

    project_update = mutation(
        use_cases.project_update,
        ProjectUpdateInput,
        ProjectPayload,
        description="Rename a project, or change its description or lead.",
    )

    project_archive, project_unarchive = archive_mutations(
        use_cases.project_set_archived,
        ProjectArchiveInput,
        ProjectPayload,
        archive="Archive a project (ADMIN+): its issues stay; no new ones can be added.",
        unarchive="Bring an archived project back (ADMIN+).",
    )
