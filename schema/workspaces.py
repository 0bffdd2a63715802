"""The `Workspace` and `Membership` types."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from core.errors import BadUserInputError, NotFoundError
from core.ids import to_global_id
from resolvers import workspace_admin
from resolvers.context import Context, Info
from schema import activity as activity_types
from schema import issues as issue_types
from schema import labels as label_types
from schema import orderings, refs
from schema import projects as project_types
from schema import workflow_states as state_types
from schema.board import IssueGroup, issue_groups
from schema.enums import Role
from schema.issue_filters import issue_lists
from schema.node import Node
from schema.pagination import Connection
from schema.relation_field import relation
from schema.relations import paged_lists, users_at, workspaces_of
from schema.search import SearchResult, search_results
from schema.workspace_admin import Invitation

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
_activity = paged_lists(
    "activity_of_workspace",
    "activity",
    orderings.ACTIVITY,
    lambda: activity_types.ActivityEntry.from_row,
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
    name: str = strawberry.field(description="Display name, 1 to 200 characters.")
    created_at: datetime = strawberry.field(description="When it was created.")

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
    async def invitations(self, info: Info) -> list[Invitation] | None:
        rows = await workspace_admin.pending_invitations(info.context, self.pk)
        return None if rows is None else [Invitation.from_row(row) for row in rows]

    @strawberry.field(description="Your role here.")
    def viewer_role(self, info: Info) -> Role | None:
        return info.context.viewer.role_in(self.pk)

    projects = relation(_projects, Connection[refs.Project], description="Projects, by key.")

    members = relation(
        _members, Connection[refs.Membership], description="Memberships, oldest first."
    )

    labels = relation(
        _labels,
        Connection[refs.Label],
        description="Labels, in the workspace's order (see `labelReorder`).",
    )

    workflow_states = relation(
        _workflow_states,
        Connection[refs.WorkflowState],
        description="Workflow states, in board order.",
    )

    issues = relation(
        _issues,
        Connection[refs.Issue],
        description="Issues of every project; newest first unless `orderBy`.",
    )

    search = relation(
        search_results,
        Connection[SearchResult],
        description="Full-text search of the issues' titles and descriptions and of their "
        "comments, best match first; each issue appears once, ranked by its best match.",
    )

    issue_groups = relation(
        issue_groups,
        list[IssueGroup],
        description="The board view: the issues matching `filter`, grouped by workflow state "
        "(or project), each group with its count and its first page, in one request.",
    )

    activity = relation(
        _activity,
        Connection[refs.ActivityEntry],
        description="Every change in the workspace, oldest first: the ordered stream that "
        "integrations read by paging `after` the last entry they saw (`last: n` for the latest).",
    )

    @strawberry.field(description="The issue with this identifier, e.g. `ENG-42`.")
    async def issue(
        self,
        info: Info,
        identifier: Annotated[
            str,
            strawberry.argument(
                description="Project key, dash, number; the key in any case (`eng-42`)."
            ),
        ],
    ) -> refs.Issue | None:
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
    role: Role = strawberry.field(description="What the member may do (see `Role`).")
    created_at: datetime = strawberry.field(description="When they joined.")

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

    user = relation(_member_users, refs.User, description="The member.")

    workspace = relation(workspaces_of, Workspace, description="The workspace they belong to.")
