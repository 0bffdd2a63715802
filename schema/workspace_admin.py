"""Workspace administration: creating and updating workspaces, invitations, memberships."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry

from core.ids import to_global_id
from schema import refs
from schema.enums import Role
from schema.node import Node
from schema.user_errors import UserError

if TYPE_CHECKING:
    from sqlalchemy import Row


@strawberry.type(description="An invitation to join a workspace (its token is shown once).")
class Invitation(Node):
    pk: strawberry.Private[int]
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

    @classmethod
    def from_row(cls, row: Row[Any]) -> Invitation:
        return cls(
            id=to_global_id("Invitation", row.id),
            pk=row.id,
            email=row.email,
            role=row.role,
            created_at=row.created_at,
            expires_at=row.expires_at,
            accepted_at=row.accepted_at,
        )


@strawberry.input(
    description="A new workspace. You become its OWNER; its board starts with Backlog, Todo, "
    "In Progress, Done and Canceled."
)
class WorkspaceCreateInput:
    slug: str = strawberry.field(description="2 to 64 of a-z, 0-9 and `-`, starting alphanumeric.")
    name: str = strawberry.field(description="What people see: 1 to 200 characters.")


@strawberry.input(description="Changes to a workspace: only the fields given are changed.")
class WorkspaceUpdateInput:
    id: strawberry.ID = strawberry.field(description="The workspace to change.")
    name: str | None = strawberry.field(
        default=None, description="What people see: 1 to 200 characters."
    )
    slug: str | None = strawberry.field(default=None, description="Owners only.")


@strawberry.input(description="The workspace to delete, with everything in it.")
class WorkspaceDeleteInput:
    id: strawberry.ID = strawberry.field(description="The workspace to delete.")


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


@strawberry.input(description="The pending invitation to withdraw.")
class InvitationRevokeInput:
    id: strawberry.ID = strawberry.field(
        description="One of the workspace's `invitations`; its token stops working."
    )


@strawberry.input(description="A member's new role.")
class MemberUpdateRoleInput:
    membership_id: strawberry.ID = strawberry.field(
        description="The member's `Membership` (not their `User`)."
    )
    role: Role = strawberry.field(description="The role they will have from now on.")


@strawberry.input(description="The member to remove from a workspace.")
class MemberRemoveInput:
    membership_id: strawberry.ID = strawberry.field(
        description="The member's `Membership` (not their `User`)."
    )


@strawberry.input(description="The workspace to leave.")
class WorkspaceLeaveInput:
    workspace_id: strawberry.ID = strawberry.field(
        description="A workspace you belong to; you lose access to it at once."
    )


@strawberry.type(description="The workspace a mutation created or changed, or why it could not.")
class WorkspacePayload:
    workspace: refs.Workspace | None = strawberry.field(
        default=None, description="The workspace as it is now; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The invitation made, with its token, or why none was.")
class MemberInvitePayload:
    invitation: Invitation | None = strawberry.field(
        default=None, description="The pending invitation; null when `errors` is not empty."
    )
    token: str | None = strawberry.field(
        default=None,
        description="Give it to the invitee, who passes it to `invitationAccept`; shown once.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The membership a mutation created or changed, or why it could not.")
class MembershipPayload:
    membership: refs.Membership | None = strawberry.field(
        default=None, description="The membership as it is now; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The membership removed, or why it was not.")
class MemberRemovePayload:
    removed_membership_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The `id` of the membership, which no longer exists; null when `errors` is "
        "not empty.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="Whether you left the workspace: you did if `errors` is empty.")
class WorkspaceLeavePayload:
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The workspace deleted, or why it was not.")
class WorkspaceDeletePayload:
    deleted_workspace_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The `id` of the workspace, which no longer exists; null when `errors` is "
        "not empty.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The invitation withdrawn, or why it was not.")
class InvitationRevokePayload:
    revoked_invitation_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The `id` of the invitation, which no longer exists; null when `errors` is "
        "not empty.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)
