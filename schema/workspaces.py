"""The `Workspace` and `Membership` types."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry

from resolvers.context import Info
from resolvers.errors import BadUserInputError, NotFoundError
from schema import issues as issue_types
from schema import labels as label_types
from schema import orderings, refs
from schema import projects as project_types
from schema import users as user_types
from schema import workflow_states as state_types
from schema.enums import Role
from schema.node import Node, to_global_id
from schema.pagination import Connection, relation_connection

if TYPE_CHECKING:
    from sqlalchemy import Row

IDENTIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,9})-([1-9][0-9]{0,9})$")
MAX_ISSUE_NUMBER = 2**31 - 1


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

    @strawberry.field(description="Your role here.")
    def viewer_role(self, info: Info) -> Role | None:
        return info.context.viewer.role_in(self.pk)

    @strawberry.field(description="Projects, by key.")
    async def projects(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[refs.Project]:
        return await relation_connection(
            info.context.loaders.projects_of_workspace,
            "projects",
            self.pk,
            orderings.PROJECTS,
            project_types.Project.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Memberships, oldest first.")
    async def members(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Membership]:
        return await relation_connection(
            info.context.loaders.memberships_of_workspace,
            "members",
            self.pk,
            orderings.MEMBERSHIPS,
            Membership.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Labels, by name.")
    async def labels(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[refs.Label]:
        return await relation_connection(
            info.context.loaders.labels_of_workspace,
            "labels",
            self.pk,
            orderings.LABELS,
            label_types.Label.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Workflow states, in board order.")
    async def workflow_states(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[refs.WorkflowState]:
        return await relation_connection(
            info.context.loaders.workflow_states_of_workspace,
            "workflowStates",
            self.pk,
            orderings.WORKFLOW_STATES,
            state_types.WorkflowState.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Issues of every project; newest first unless `orderBy`.")
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
        return await issue_types.issue_connection(
            info.context.loaders.issues_of_workspace,
            "issues",
            self.pk,
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

    @strawberry.field
    async def user(self, info: Info) -> refs.User:
        user = await user_types.user_or_none(info, self.user_id)
        if user is None:
            raise NotFoundError("User not found.")
        return user

    @strawberry.field
    async def workspace(self, info: Info) -> Workspace:
        return await workspace_by_id(info, self.workspace_id)


async def workspace_by_id(info: Info, workspace_id: int) -> Workspace:
    row = await info.context.loaders.workspace_by_id.load(workspace_id)
    if row is None:
        raise NotFoundError("Workspace not found.")
    return Workspace.from_row(row)
