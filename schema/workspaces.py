"""The `Workspace` and `Membership` types."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry

from execution.batching import batched, resolve_one
from resolvers import workspace_admin
from resolvers.context import Context, Info
from resolvers.errors import BadUserInputError, NotFoundError
from resolvers.relations import issue_lists, paged_lists, users_at, workspaces_of
from schema import issues as issue_types
from schema import labels as label_types
from schema import orderings, refs
from schema import projects as project_types
from schema import workflow_states as state_types
from schema.enums import Role
from schema.node import Node, to_global_id
from schema.pagination import Connection

if TYPE_CHECKING:
    from sqlalchemy import Row

IDENTIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,9})-([1-9][0-9]{0,9})$")
MAX_ISSUE_NUMBER = 2**31 - 1


_projects = paged_lists(
    "projects_of_workspace", "projects", orderings.PROJECTS, lambda: project_types.Project.from_row
)
_members = paged_lists(
    "memberships_of_workspace", "members", orderings.MEMBERSHIPS, lambda: Membership.from_row
)
_labels = paged_lists(
    "labels_of_workspace", "labels", orderings.LABELS, lambda: label_types.Label.from_row
)
_workflow_states = paged_lists(
    "workflow_states_of_workspace",
    "workflowStates",
    orderings.WORKFLOW_STATES,
    lambda: state_types.WorkflowState.from_row,
)


_issues = issue_lists("issues_of_workspace", "issues")


@strawberry.type(description="A team's space: its members, projects, labels and workflow.")
class Workspace(Node):
    pk: strawberry.Private[int]
    slug: str = strawberry.field(description="URL-safe unique name, e.g. `acme`.")
    name: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> Workspace:
        return cls(
            id=to_global_id("Workspace", row.id),
            pk=row.id,
            slug=row.slug,
            name=row.name,
            created_at=row.created_at,
        )

    @strawberry.field(
        description="Invitations not yet accepted nor expired, newest first; null unless you "
        "may invite (ADMIN+)."
    )
    async def invitations(self, info: Info) -> list[refs.Invitation] | None:
        return await workspace_admin.pending_invitations(info.context, self.pk)

    @strawberry.field(description="Your role here.")
    def viewer_role(self, info: Info) -> Role | None:
        return info.context.viewer.role_in(self.pk)

    @strawberry.field(description="Projects, by key.", metadata=batched(_projects))
    async def projects(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[refs.Project]:
        return await resolve_one(
            _projects, self, info, first=first, after=after, last=last, before=before
        )

    @strawberry.field(description="Memberships, oldest first.", metadata=batched(_members))
    async def members(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Membership]:
        return await resolve_one(
            _members, self, info, first=first, after=after, last=last, before=before
        )

    @strawberry.field(description="Labels, by name.", metadata=batched(_labels))
    async def labels(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[refs.Label]:
        return await resolve_one(
            _labels, self, info, first=first, after=after, last=last, before=before
        )

    @strawberry.field(
        description="Workflow states, in board order.", metadata=batched(_workflow_states)
    )
    async def workflow_states(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[refs.WorkflowState]:
        return await resolve_one(
            _workflow_states, self, info, first=first, after=after, last=last, before=before
        )

    @strawberry.field(
        description="Issues of every project; newest first unless `orderBy`.",
        metadata=batched(_issues),
    )
    async def issues(
        self,
        info: Info,
        filter: refs.IssueFilter | None = None,
        order_by: list[refs.IssueOrder] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[refs.Issue]:
        return await resolve_one(
            _issues,
            self,
            info,
            filter=filter,
            order_by=order_by,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="The issue with this identifier, e.g. `ENG-42`.")
    async def issue(self, info: Info, identifier: str) -> refs.Issue | None:
        match = IDENTIFIER.match(identifier.strip())
        if match is None:
            raise BadUserInputError(
                f"`{identifier}` is not an issue identifier such as `ENG-42`.",
                argument="identifier",
            )
        number = int(match.group(2))
        if number > MAX_ISSUE_NUMBER:
            return None
        key = (self.pk, match.group(1).upper(), number)
        row = await info.context.loaders.issue_by_identifier.load(key)
        return issue_types.Issue.from_row(row) if row is not None else None


async def _member_users(memberships: list[Membership], context: Context) -> list[Any]:
    users = await users_at("user_id")(memberships, context)
    return [user if user is not None else NotFoundError("User not found.") for user in users]


@strawberry.type(description="A user's membership of a workspace, with their role.")
class Membership(Node):
    pk: strawberry.Private[int]
    workspace_id: strawberry.Private[int]
    user_id: strawberry.Private[int]
    role: Role
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> Membership:
        return cls(
            id=to_global_id("Membership", row.id),
            pk=row.id,
            workspace_id=row.workspace_id,
            user_id=row.user_id,
            role=row.role,
            created_at=row.created_at,
        )

    @strawberry.field(metadata=batched(_member_users))
    async def user(self, info: Info) -> refs.User:
        return await resolve_one(_member_users, self, info)

    @strawberry.field(metadata=batched(workspaces_of))
    async def workspace(self, info: Info) -> Workspace:
        return await resolve_one(workspaces_of, self, info)
