"""The root `Mutation` type: thin fields that hand off to `resolvers/`."""

from __future__ import annotations

import strawberry

from resolvers import accounts, workspace_admin
from resolvers.context import Info
from schema.accounts import (
    ApiToken,
    ApiTokenCreateInput,
    ApiTokenCreatePayload,
    ApiTokenRevokeInput,
    ApiTokenRevokePayload,
    AuthPayload,
    LogInInput,
    LogOutInput,
    LogOutPayload,
    PasswordChangeInput,
    PasswordChangePayload,
    SignUpInput,
    TokenRefreshInput,
)
from schema.payloads import payload
from schema.tracker_mutation import TrackerMutation
from schema.users import User
from schema.workspace_admin import (
    Invitation,
    InvitationAcceptInput,
    InvitationRevokeInput,
    InvitationRevokePayload,
    MemberInviteInput,
    MemberInvitePayload,
    MemberRemoveInput,
    MemberRemovePayload,
    MembershipPayload,
    MemberUpdateRoleInput,
    WorkspaceCreateInput,
    WorkspaceDeleteInput,
    WorkspaceDeletePayload,
    WorkspaceLeaveInput,
    WorkspaceLeavePayload,
    WorkspacePayload,
    WorkspaceUpdateInput,
)
from schema.workspaces import Membership, Workspace


@strawberry.type(
    description="What can be changed. Each mutation is one transaction: it returns the object "
    "it changed, or `errors` saying why nothing was changed. Every field is nullable: when one "
    "mutation of a document fails with a GraphQL error (its field is null), the results of "
    "those that ran before it still come back."
)
class Mutation(TrackerMutation):
    @strawberry.mutation(description="Create an account and sign in.")
    async def sign_up(self, info: Info, input: SignUpInput) -> AuthPayload | None:
        outcome = await accounts.sign_up(info.context, input.email, input.password, input.name)
        return payload(AuthPayload, outcome, viewer=User.from_row)

    @strawberry.mutation(
        description="Sign in with email and password. Failures do not tell whether the email "
        "has an account, and repeated failures are throttled per account and per address."
    )
    async def log_in(self, info: Info, input: LogInInput) -> AuthPayload | None:
        outcome = await accounts.log_in(info.context, input.email, input.password)
        return payload(AuthPayload, outcome, viewer=User.from_row)

    @strawberry.mutation(
        description="Exchange a refresh token for a new access token and refresh token. "
        "A refresh token works once; using one twice signs out its whole session."
    )
    async def token_refresh(self, info: Info, input: TokenRefreshInput) -> AuthPayload | None:
        outcome = await accounts.token_refresh(info.context, input.refresh_token)
        return payload(AuthPayload, outcome, viewer=User.from_row)

    @strawberry.mutation(description="End the session a refresh token belongs to.")
    async def log_out(self, info: Info, input: LogOutInput) -> LogOutPayload | None:
        outcome = await accounts.log_out(info.context, input.refresh_token)
        return payload(LogOutPayload, outcome)

    @strawberry.mutation(description="Change your password; every session is signed out.")
    async def password_change(
        self, info: Info, input: PasswordChangeInput
    ) -> PasswordChangePayload | None:
        outcome = await accounts.password_change(
            info.context, input.current_password, input.new_password
        )
        return payload(PasswordChangePayload, outcome)

    @strawberry.mutation(description="Create a personal API token for scripts and apps.")
    async def api_token_create(
        self, info: Info, input: ApiTokenCreateInput
    ) -> ApiTokenCreatePayload | None:
        outcome = await accounts.api_token_create(
            info.context, input.name, input.scope, input.expires_at
        )
        return payload(ApiTokenCreatePayload, outcome, api_token=ApiToken.from_row)

    @strawberry.mutation(description="Revoke one of your personal API tokens.")
    async def api_token_revoke(
        self, info: Info, input: ApiTokenRevokeInput
    ) -> ApiTokenRevokePayload | None:
        outcome = await accounts.api_token_revoke(info.context, input.id)
        return payload(ApiTokenRevokePayload, outcome, api_token=ApiToken.from_row)

    @strawberry.mutation(description="Create a workspace; you become its OWNER.")
    async def workspace_create(
        self, info: Info, input: WorkspaceCreateInput
    ) -> WorkspacePayload | None:
        outcome = await workspace_admin.workspace_create(info.context, input.slug, input.name)
        return payload(WorkspacePayload, outcome, workspace=Workspace.from_row)

    @strawberry.mutation(description="Rename a workspace (ADMIN+) or change its slug (OWNER).")
    async def workspace_update(
        self, info: Info, input: WorkspaceUpdateInput
    ) -> WorkspacePayload | None:
        outcome = await workspace_admin.workspace_update(
            info.context, input.id, input.name, input.slug
        )
        return payload(WorkspacePayload, outcome, workspace=Workspace.from_row)

    @strawberry.mutation(
        description="Delete a workspace and everything in it (OWNER only). Cannot be undone."
    )
    async def workspace_delete(
        self, info: Info, input: WorkspaceDeleteInput
    ) -> WorkspaceDeletePayload | None:
        outcome = await workspace_admin.workspace_delete(info.context, input.id)
        return payload(WorkspaceDeletePayload, outcome)

    @strawberry.mutation(
        description="Invite someone by email (ADMIN+; only an OWNER invites owners). The "
        "payload's token is what the invitee passes to `invitationAccept`; it expires in 7 days."
    )
    async def member_invite(
        self, info: Info, input: MemberInviteInput
    ) -> MemberInvitePayload | None:
        outcome = await workspace_admin.member_invite(
            info.context, input.workspace_id, input.email, input.role
        )
        return payload(MemberInvitePayload, outcome, invitation=Invitation.from_row)

    @strawberry.mutation(description="Join the workspace an invitation to your email is for.")
    async def invitation_accept(
        self, info: Info, input: InvitationAcceptInput
    ) -> MembershipPayload | None:
        outcome = await workspace_admin.invitation_accept(info.context, input.token)
        return payload(MembershipPayload, outcome, membership=Membership.from_row)

    @strawberry.mutation(
        description="Withdraw a pending invitation (whoever may invite with its role)."
    )
    async def invitation_revoke(
        self, info: Info, input: InvitationRevokeInput
    ) -> InvitationRevokePayload | None:
        outcome = await workspace_admin.invitation_revoke(info.context, input.id)
        return payload(InvitationRevokePayload, outcome)

    @strawberry.mutation(
        description="Change a member's role (ADMIN+; only an OWNER gives or takes OWNER). "
        "A workspace always keeps one OWNER."
    )
    async def member_update_role(
        self, info: Info, input: MemberUpdateRoleInput
    ) -> MembershipPayload | None:
        outcome = await workspace_admin.member_update_role(
            info.context, input.membership_id, input.role
        )
        return payload(MembershipPayload, outcome, membership=Membership.from_row)

    @strawberry.mutation(description="Remove a member (ADMIN+; only an OWNER removes owners).")
    async def member_remove(
        self, info: Info, input: MemberRemoveInput
    ) -> MemberRemovePayload | None:
        outcome = await workspace_admin.member_remove(info.context, input.membership_id)
        return payload(MemberRemovePayload, outcome)

    @strawberry.mutation(description="Leave a workspace (its last OWNER cannot).")
    async def workspace_leave(
        self, info: Info, input: WorkspaceLeaveInput
    ) -> WorkspaceLeavePayload | None:
        outcome = await workspace_admin.workspace_leave(info.context, input.workspace_id)
        return payload(WorkspaceLeavePayload, outcome)
