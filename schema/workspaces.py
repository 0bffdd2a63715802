"""Workspaces with their members and invitations: the `Workspace`, `Membership` and
`Invitation` types, their mutations' inputs and payloads, and `WorkspaceMutations`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import strawberry

from auth import policies
from core.errors import BadUserInputError
from resolvers import workspaces as use_cases
from resolvers.context import Info
from schema import issues as issue_types
from schema import orderings, refs
from schema.board import IssueGroup, issue_groups
from schema.changes import ChangeSet, workspace_changes
from schema.enums import Role
from schema.inputs import DISPLAY_NAME, SHOWN_NAME, id_input
from schema.issue_filters import issue_lists
from schema.mutation_field import mutation
from schema.node import Node, PolicedNode
from schema.pagination import Connection
from schema.payloads import (
    delete_types,
    gone_id,
    node_field,
    object_payload,
    payload_type,
    scalar_field,
)
from schema.relation_field import relation
from schema.relations import nodes_at, paged_lists, workspace_relation
from schema.search import SearchResult, search_results
from schema.webhooks import webhooks_of_workspaces

IDENTIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,9})-([1-9][0-9]{0,9})$")
MAX_ISSUE_NUMBER = 2**31 - 1


_projects = paged_lists("projects_of_workspace", "projects", orderings.PROJECTS, refs.Project)
_members = paged_lists(
    "memberships_of_workspace", "members", orderings.MEMBERSHIPS, refs.Membership
)
_labels = paged_lists("labels_of_workspace", "labels", orderings.LABELS, refs.Label)
_activity = paged_lists("activity_of_workspace", "activity", orderings.ACTIVITY, refs.ActivityEntry)
_workflow_states = paged_lists(
    "workflow_states_of_workspace", "workflowStates", orderings.WORKFLOW_STATES, refs.WorkflowState
)


_issues = issue_lists("issues_of_workspace", "issues")


@strawberry.type(description="A team's space: its members, projects, labels and workflow.")
class Workspace(Node):
    slug: str = strawberry.field(description="URL-safe unique name, e.g. `acme`.")
    name: str = strawberry.field(description=f"Display name, {DISPLAY_NAME}.")
    created_at: datetime = strawberry.field(description="When it was created.")

    @strawberry.field(
        description="Invitations not yet accepted nor expired, newest first; null unless you "
        "may invite (ADMIN+)."
    )
    async def invitations(self, info: Info) -> list[Invitation] | None:
        rows = await use_cases.pending_invitations(info.context, self.pk)
        return None if rows is None else [Invitation.from_row(row) for row in rows]

    webhooks = relation(
        webhooks_of_workspaces,
        Connection[refs.Webhook] | None,
        description="Its webhooks, oldest first; null unless you may manage them (ADMIN+).",
    )

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

    changes = relation(
        workspace_changes,
        ChangeSet,
        description="Delta sync: what changed since a cursor, read from `activity`: the objects "
        "changed, as they are now, and the IDs of those deleted, each once, with the cursor to "
        "ask from next time. Take the cursor (`since: null`) before loading what it will keep "
        "up to date: a change is then sent again at worst, never missed.",
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


_member_users = nodes_at(refs.User, "user_id", missing="User not found.")


@strawberry.type(description="A user's membership of a workspace, with their role.")
class Membership(Node):
    workspace_id: strawberry.Private[int]
    user_id: strawberry.Private[int]
    role: Role = strawberry.field(description="What the member may do (see `Role`).")
    created_at: datetime = strawberry.field(description="When they joined.")

    user = relation(_member_users, refs.User, description="The member.")

    workspace = workspace_relation("The workspace they belong to.")


@strawberry.type(description="An invitation to join a workspace (its token is shown once).")
class Invitation(PolicedNode):
    email: str = strawberry.field(
        description="Who it is for: only the account with this email can accept it."
    )
    role: Role = strawberry.field(description="The role the invitee gets by accepting.")
    created_at: datetime = strawberry.field(description="When it was sent.")
    expires_at: datetime = strawberry.field(
        description="When it stops working, 7 days after it was sent."
    )
    accepted_at: datetime | None = strawberry.field(
        description="When it was accepted; null while it is pending."
    )

    read_policy = policies.can_see_invitations
    """Only those who may invite see invitations (they hold emails)."""


@strawberry.input(
    description="A new workspace. You become its OWNER; its board starts with Backlog, Todo, "
    "In Progress, Done and Canceled."
)
class WorkspaceCreateInput:
    slug: str = strawberry.field(description="2 to 64 of a-z, 0-9 and `-`, starting alphanumeric.")
    name: str = strawberry.field(description=SHOWN_NAME)


@strawberry.input(description="Changes to a workspace: only the fields given are changed.")
class WorkspaceUpdateInput:
    id: strawberry.ID = strawberry.field(description="The workspace to change.")
    name: str | None = strawberry.field(default=None, description=SHOWN_NAME)
    slug: str | None = strawberry.field(default=None, description="Owners only.")


@strawberry.input(description="Whom to invite to a workspace, and with which role.")
class MemberInviteInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace to invite to.")
    email: str = strawberry.field(
        description="Who it is for: only the account with this email can accept it."
    )
    role: Role = strawberry.field(
        default=Role.MEMBER,  # type: ignore[attr-defined]
        description="The role the invitee gets by accepting (only an OWNER invites owners).",
    )


@strawberry.input(description="The invitation to accept.")
class InvitationAcceptInput:
    token: str = strawberry.field(
        description="The `token` that `memberInvite` returned to the inviter, who passed it on."
    )


InvitationRevokeInput = id_input(
    "InvitationRevokeInput",
    "The pending invitation to withdraw.",
    "One of the workspace's `invitations`; its token stops working.",
)


@strawberry.input(description="Names a member.")
class _MemberInput:
    """What the inputs that act on a member begin with."""

    membership_id: strawberry.ID = strawberry.field(
        description="The member's `Membership` (not their `User`)."
    )


@strawberry.input(description="A member's new role.")
class MemberUpdateRoleInput(_MemberInput):
    role: Role = strawberry.field(description="The role they will have from now on.")


@strawberry.input(description="The member to remove from a workspace.")
class MemberRemoveInput(_MemberInput):
    pass


@strawberry.input(description="The workspace to leave.")
class WorkspaceLeaveInput:
    workspace_id: strawberry.ID = strawberry.field(
        description="A workspace you belong to; you lose access to it at once."
    )


WorkspacePayload = object_payload(Workspace, "workspace")
WorkspaceDeleteInput, WorkspaceDeletePayload = delete_types(
    "workspace", "The workspace to delete, with everything in it."
)
MemberInvitePayload = payload_type(
    "MemberInvitePayload",
    "The invitation made, with its token, or why none was.",
    invitation=node_field(Invitation, "The pending invitation; null when `errors` is not empty."),
    token=scalar_field(
        str, "Give it to the invitee, who passes it to `invitationAccept`; shown once."
    ),
)
MembershipPayload = object_payload(Membership, "membership")
MemberRemovePayload = payload_type(
    "MemberRemovePayload",
    "The membership removed, or why it was not.",
    removed_membership_id=gone_id("membership"),
)
WorkspaceLeavePayload = payload_type(
    "WorkspaceLeavePayload", "Whether you left the workspace: you did if `errors` is empty."
)
InvitationRevokePayload = payload_type(
    "InvitationRevokePayload",
    "The invitation withdrawn, or why it was not.",
    revoked_invitation_id=gone_id("invitation"),
)


@strawberry.type
class WorkspaceMutations:
    """Workspace, membership and invitation mutations: part of the root `Mutation`."""

    workspace_create = mutation(
        use_cases.workspace_create,
        WorkspaceCreateInput,
        WorkspacePayload,
        description="Create a workspace; you become its OWNER.",
    )

    workspace_update = mutation(
        use_cases.workspace_update,
        WorkspaceUpdateInput,
        WorkspacePayload,
        description="Rename a workspace (ADMIN+) or change its slug (OWNER).",
    )

    workspace_delete = mutation(
        use_cases.workspace_delete,
        WorkspaceDeleteInput,
        WorkspaceDeletePayload,
        description="Delete a workspace and everything in it (OWNER only). Cannot be undone.",
    )

    member_invite = mutation(
        use_cases.member_invite,
        MemberInviteInput,
        MemberInvitePayload,
        description="Invite someone by email (ADMIN+; only an OWNER invites owners). The "
        "payload's token is what the invitee passes to `invitationAccept`; it expires in 7 days.",
    )

    invitation_accept = mutation(
        use_cases.invitation_accept,
        InvitationAcceptInput,
        MembershipPayload,
        description="Join the workspace an invitation to your email is for.",
    )

    invitation_revoke = mutation(
        use_cases.invitation_revoke,
        InvitationRevokeInput,
        InvitationRevokePayload,
        description="Withdraw a pending invitation (whoever may invite with its role).",
    )

    member_update_role = mutation(
        use_cases.member_update_role,
        MemberUpdateRoleInput,
        MembershipPayload,
        description="Change a member's role (ADMIN+; only an OWNER gives or takes OWNER). "
        "A workspace always keeps one OWNER.",
    )

    member_remove = mutation(
        use_cases.member_remove,
        MemberRemoveInput,
        MemberRemovePayload,
        description="Remove a member (ADMIN+; only an OWNER removes owners).",
    )

    workspace_leave = mutation(
        use_cases.workspace_leave,
        WorkspaceLeaveInput,
        WorkspaceLeavePayload,
        description="Leave a workspace (its last OWNER cannot).",
    )
