"""Workspace administration: creating and updating workspaces, invitations, memberships."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry

from schema import refs
from schema.enums import Role
from schema.node import Node, to_global_id
from schema.user_errors import UserError

if TYPE_CHECKING:
    from sqlalchemy import Row


@strawberry.type(description="An invitation to join a workspace (its token is shown once).")
class Invitation(Node):
    pk: strawberry.Private[int]
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None

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


@strawberry.input
class WorkspaceCreateInput:
    slug: str = strawberry.field(description="2 to 64 of a-z, 0-9 and `-`, starting alphanumeric.")
    name: str


@strawberry.input
class WorkspaceUpdateInput:
    id: strawberry.ID
    name: str | None = None
    slug: str | None = strawberry.field(default=None, description="Owners only.")


@strawberry.input
class WorkspaceDeleteInput:
    id: strawberry.ID


@strawberry.input
class MemberInviteInput:
    workspace_id: strawberry.ID
    email: str
    role: Role = Role.MEMBER  # type: ignore[attr-defined]


@strawberry.input
class InvitationAcceptInput:
    token: str


@strawberry.input
class InvitationRevokeInput:
    id: strawberry.ID


@strawberry.input
class MemberUpdateRoleInput:
    membership_id: strawberry.ID
    role: Role


@strawberry.input
class MemberRemoveInput:
    membership_id: strawberry.ID


@strawberry.input
class WorkspaceLeaveInput:
    workspace_id: strawberry.ID


@strawberry.type
class WorkspacePayload:
    workspace: refs.Workspace | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MemberInvitePayload:
    invitation: Invitation | None = None
    token: str | None = strawberry.field(
        default=None,
        description="Give it to the invitee, who passes it to `invitationAccept`; shown once.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MembershipPayload:
    membership: refs.Membership | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MemberRemovePayload:
    removed_membership_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WorkspaceLeavePayload:
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WorkspaceDeletePayload:
    deleted_workspace_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InvitationRevokePayload:
    revoked_invitation_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
