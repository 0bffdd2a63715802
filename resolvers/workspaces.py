"""Workspaces, invitations and memberships, each mutation run by `resolvers.mutations.perform`.

A workspace the viewer does not belong to, and a membership in one, are NOT_FOUND exactly like
ones that do not exist. A visible one the viewer's role may not change is FORBIDDEN. Role changes
take a lock on the workspace row first, so a workspace always keeps at least one OWNER even when
two owners demote each other at the same moment.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg

from auth import policies, tokens
from core.enums import Role, WorkflowStateType
from core.errors import ForbiddenError, NotFoundError, UserError, UserErrorCode, user_error
from core.ids import pk_of, to_global_id
from db import outbox, queries
from db import workspaces as writes
from db.activity import Change, logged
from resolvers import edits, mail
from resolvers.guards import visible_workspace_id
from resolvers.inputs import MAX_DISPLAY_NAME, email_errors
from resolvers.mutations import Done, Journal, Outcome, Returns, perform

if TYPE_CHECKING:
    from collections.abc import Sequence

    from auth.viewer import Viewer
    from db.outbox import NewMessage
    from resolvers.context import Context

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
INVITATION_DAYS = 7
INVITATION_PREFIX = "bli_"
DEFAULT_BOARD = (
    ("Backlog", WorkflowStateType.BACKLOG),
    ("Todo", WorkflowStateType.UNSTARTED),
    ("In Progress", WorkflowStateType.STARTED),
    ("Done", WorkflowStateType.COMPLETED),
    ("Canceled", WorkflowStateType.CANCELED),
)
LAST_OWNER = "A workspace keeps at least one owner: make someone else an owner first."
# These inputs take no idempotency key: creating twice is refused (SLUG_TAKEN, ALREADY_MEMBER),
# and the rest set a state that a retry sets again.
NO_REPLAY = Returns()


async def workspace_create(context: Context, input: Any) -> Outcome:
    """The creator becomes its OWNER; the board starts with the usual five states."""

    async def run(journal: Journal) -> Done:
        slug, name = input.slug.strip(), input.name.strip()
        errors = _workspace_fields(slug, name)
        if errors:
            return Done(Outcome(errors))
        db = context.db
        row = await db.fetch_one(writes.insert_workspace(), {"slug": slug, "name": name})
        if row is None:
            return Done(Outcome([_slug_taken()]))
        await db.fetch_all(
            writes.insert_membership(),
            {"workspace_id": row.id, "user_id": journal.actor_id, "role": Role.OWNER},
        )
        await db.fetch_all(
            writes.insert_workflow_states(),
            {
                "workspace_id": row.id,
                "names": [name for name, _ in DEFAULT_BOARD],
                "types": [kind for _, kind in DEFAULT_BOARD],
                "positions": list(range(len(DEFAULT_BOARD))),
            },
        )
        journal.record(Change(row.id, "Workspace", row.id, "CREATED"))
        viewer = context.viewer.with_role(row.id, Role.OWNER)
        return Done(Outcome(workspace=row), viewer=viewer)

    return await perform(context, "workspaceCreate", input, NO_REPLAY, run)


async def workspace_update(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        pk = visible_workspace_id(context, input.id)
        viewer = await _locked_actor(context, pk)
        if not policies.can_update_workspace(viewer, pk) or (
            input.slug is not None and not policies.can_change_workspace_slug(viewer, pk)
        ):
            raise ForbiddenError("Your role in this workspace may not change that.")
        name = input.name.strip() if input.name is not None else None
        slug = input.slug.strip() if input.slug is not None else None
        errors = _workspace_fields(slug, name)
        if slug is not None and not errors:
            taken = await context.db.fetch_one(
                writes.slug_taken(), {"slug": slug, "workspace_id": pk}
            )
            if taken is not None:
                errors.append(_slug_taken())
        if errors:
            return Done(Outcome(errors))
        before = await context.loaders.workspace_by_id.load(pk)
        assert before is not None  # its row is locked by `_locked_actor`
        values = {"name": name, "slug": slug}
        given = {field: value for field, value in values.items() if value is not None}
        try:
            row = await edits.update_changed(
                context, journal, queries.workspaces, "Workspace", before, given, workspace_id=pk
            )
        except asyncpg.UniqueViolationError:  # taken by a concurrent rename since the check
            return Done(Outcome([_slug_taken()]))
        return Done(Outcome(workspace=row))

    return await perform(context, "workspaceUpdate", input, NO_REPLAY, run)


async def workspace_delete(context: Context, input: Any) -> Outcome:
    """Owners only; its projects, issues, comments, labels, memberships and activity go with
    it (so nothing is appended to its log)."""

    async def run(journal: Journal) -> Done:
        pk = visible_workspace_id(context, input.id)
        if not policies.can_delete_workspace(await _locked_actor(context, pk), pk):
            raise ForbiddenError("Only an owner may delete the workspace.")
        await context.db.fetch_all(writes.delete_workspace(), {"workspace_id": pk})
        viewer = context.viewer.with_role(pk, None)
        return Done(Outcome(deleted_workspace_id=input.id), viewer=viewer)

    return await perform(context, "workspaceDelete", input, NO_REPLAY, run)


async def member_invite(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        pk = visible_workspace_id(context, input.workspace_id)
        role = input.role
        if not policies.can_give_role(await _locked_actor(context, pk), pk, None, role):
            raise ForbiddenError("Your role in this workspace may not invite with that role.")
        email = input.email.strip()
        if errors := email_errors(email, "email"):
            return Done(Outcome(errors))
        db = context.db
        member = await db.fetch_one(
            writes.member_with_email(), {"workspace_id": pk, "email": email.lower()}
        )
        if member is not None:
            return Done(
                Outcome([user_error(UserErrorCode.ALREADY_MEMBER, "Already a member.", "email")])
            )
        secret = tokens.new_secret(INVITATION_PREFIX)
        row = await db.fetch_row(
            writes.insert_invitation(),
            {
                "workspace_id": pk,
                "email": email,
                "role": role,
                "token_hash": tokens.secret_hash(secret),
                "invited_by": journal.actor_id,
                "expires_at": datetime.now(UTC) + timedelta(days=INVITATION_DAYS),
            },
        )
        names = await db.fetch_row(
            writes.invitation_names(), {"workspace_id": pk, "user_id": journal.actor_id}
        )
        await outbox.enqueue(db, [_invitation_email(context, row, names, secret)])
        # The email is for those who may invite (`workspace.invitations`), not for the whole log.
        journal.record(
            Change(pk, "Invitation", row.id, "CREATED", field="role", to_value=role.value)
        )
        return Done(Outcome(invitation=row, token=secret))

    return await perform(context, "memberInvite", input, NO_REPLAY, run)


def _invitation_email(context: Context, invitation: Any, names: Any, token: str) -> NewMessage:
    inviter = mail.one_line(names.inviter_name or "Someone")
    workspace = mail.one_line(names.workspace_name)
    expires = invitation.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return mail.link_email(
        invitation.email,
        f"{inviter} invited you to {workspace} on Backlog",
        [
            f"{inviter} invited you to join the workspace {workspace} on Backlog as "
            f"{invitation.role.value.lower()}.",
            f"Accept before {expires}, signed in with this email address ({invitation.email}).",
        ],
        action="Accept the invitation",
        link=mail.app_link(context.settings.app_url, "/invitations/accept", token=token),
        footer="Not expecting this? Ignore this email: nothing happens unless you accept.",
        purpose="invitation",
    )


async def invitation_revoke(context: Context, input: Any) -> Outcome:
    """Whoever may invite with the invitation's role may revoke it; others get NOT_FOUND for
    invitations of workspaces they are not in."""

    async def run(journal: Journal) -> Done:
        row = await _visible(
            context, input.id, "Invitation", writes.invitation_by_id(), "invitation_id"
        )
        actor = await _locked_actor(context, row.workspace_id)
        if not policies.can_give_role(actor, row.workspace_id, None, row.role):
            raise ForbiddenError("Your role in this workspace may not revoke that invitation.")
        await context.db.fetch_all(writes.delete_invitation(), {"invitation_id": row.id})
        journal.record(Change(row.workspace_id, "Invitation", row.id, "DELETED"))
        return Done(Outcome(revoked_invitation_id=input.id))

    return await perform(context, "invitationRevoke", input, NO_REPLAY, run)


async def pending_invitations(context: Context, workspace_id: int) -> Sequence[Any] | None:
    """For those who may invite (ADMIN+); null for anyone else."""
    if not policies.can_see_invitations(context.viewer, workspace_id):
        return None
    return await context.db.fetch_all(writes.pending_invitations(), {"workspace_id": workspace_id})


async def invitation_accept(context: Context, input: Any) -> Outcome:
    """Only the invited email's account may accept; any other token is simply not found."""

    async def run(journal: Journal) -> Done:
        db = context.db
        email = await db.scalar(writes.user_email(), {"user_id": journal.actor_id})
        invitation = await db.fetch_one(
            writes.invitation_to_accept(),
            {"token_hash": tokens.secret_hash(input.token), "email": (email or "").lower()},
        )
        # An invitation is only as good as its inviter's authority today: one from a member
        # since removed, or demoted below the role it grants, is void.
        if invitation is None or not policies.can_role_invite(
            invitation.inviter_role, invitation.role
        ):
            return Done(
                Outcome([user_error(UserErrorCode.NOT_FOUND, "No such invitation.", "token")])
            )
        await db.fetch_all(writes.mark_invitation_accepted(), {"invitation_id": invitation.id})
        row = await db.fetch_one(
            writes.insert_membership(),
            {
                "workspace_id": invitation.workspace_id,
                "user_id": journal.actor_id,
                "role": invitation.role,
            },
        )
        if row is None:  # rolled back: the invitation stays unaccepted
            return Done(
                Outcome([user_error(UserErrorCode.ALREADY_MEMBER, "Already a member.", "token")])
            )
        journal.record(_role_change(row, "CREATED", None, row.role))
        viewer = context.viewer.with_role(row.workspace_id, row.role)
        return Done(Outcome(membership=row), viewer=viewer)

    return await perform(context, "invitationAccept", input, NO_REPLAY, run)


async def member_update_role(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        role = input.role
        membership, actor = await _locked_membership(context, input.membership_id)
        if not policies.can_give_role(actor, membership.workspace_id, membership.role, role):
            raise ForbiddenError("Your role in this workspace may not give or take that role.")
        if (
            membership.role is Role.OWNER
            and role is not Role.OWNER
            and await _last_owner(context, membership.workspace_id)
        ):
            return Done(Outcome([user_error(UserErrorCode.LAST_OWNER, LAST_OWNER)]))
        row = await context.db.fetch_row(
            writes.set_role(), {"target_id": membership.id, "new_role": role}
        )
        if membership.role is not row.role:
            journal.record(_role_change(row, "UPDATED", membership.role, row.role))
        # Changing one's own role (an owner stepping down) holds for the rest of the document.
        own = row.user_id == context.viewer.user_id
        viewer = context.viewer.with_role(row.workspace_id, row.role) if own else None
        return Done(Outcome(membership=row), viewer=viewer)

    return await perform(context, "memberUpdateRole", input, NO_REPLAY, run)


async def member_remove(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        membership, actor = await _locked_membership(context, input.membership_id)
        if not policies.can_give_role(actor, membership.workspace_id, membership.role, None):
            raise ForbiddenError("Your role in this workspace may not remove that member.")
        if membership.role is Role.OWNER and await _last_owner(context, membership.workspace_id):
            return Done(Outcome([user_error(UserErrorCode.LAST_OWNER, LAST_OWNER)]))
        viewer = await _delete(context, journal, membership)
        removed = to_global_id("Membership", membership.id)
        return Done(Outcome(removed_membership_id=removed), viewer=viewer)

    return await perform(context, "memberRemove", input, NO_REPLAY, run)


async def workspace_leave(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        pk = visible_workspace_id(context, input.workspace_id)
        await context.db.fetch_all(writes.lock_workspace(), {"workspace_id": pk})
        membership = await context.db.fetch_one(
            writes.membership_of_user(), {"workspace_id": pk, "user_id": journal.actor_id}
        )
        if membership is None:
            raise NotFoundError("Workspace not found.")
        if membership.role is Role.OWNER and await _last_owner(context, pk):
            return Done(Outcome([user_error(UserErrorCode.LAST_OWNER, LAST_OWNER)]))
        return Done(Outcome(), viewer=await _delete(context, journal, membership))

    return await perform(context, "workspaceLeave", input, NO_REPLAY, run)


async def _locked_membership(context: Context, global_id: str) -> tuple[Any, Viewer]:
    """The membership and the acting viewer, both read again under the workspace's lock (held
    until commit), so the role checks see what concurrent changes committed; NOT_FOUND outside
    the viewer's scope."""
    row = await _visible(
        context, global_id, "Membership", writes.membership_by_id(), "membership_id"
    )
    actor = await _locked_actor(context, row.workspace_id)
    row = await context.db.fetch_one(writes.membership_by_id(), {"membership_id": row.id})
    if row is None:
        raise NotFoundError("Membership not found.")
    return row, actor


async def _visible(
    context: Context, global_id: str, type_name: str, statement: Any, key: str
) -> Any:
    """The row `statement` reads with `global_id`'s primary key as parameter `key`, if it is a
    `type_name` of a workspace the viewer can read; NOT_FOUND otherwise."""
    pk = pk_of(global_id, type_name)
    row = None if pk is None else await context.db.fetch_one(statement, {key: pk})
    if row is None or not policies.can_read_workspace(context.viewer, row.workspace_id):
        raise NotFoundError(f"{type_name} not found.")
    return row


def _role_change(membership: Any, action: str, before: Role | None, after: Role | None) -> Change:
    """A member's role given (CREATED), changed (UPDATED) or taken away (DELETED), for the log."""
    return Change(
        membership.workspace_id,
        "Membership",
        membership.id,
        action,
        field="role",
        from_value=logged(before),
        to_value=logged(after),
    )


async def _locked_actor(context: Context, workspace_id: int) -> Viewer:
    """Locks the workspace's membership changes until commit, and returns the viewer with
    their role in it as it is now (a request in flight may carry a role since taken away)."""
    db, viewer = context.db, context.viewer
    await db.fetch_all(writes.lock_workspace(), {"workspace_id": workspace_id})
    role = await db.scalar(
        writes.role_of_user(), {"workspace_id": workspace_id, "user_id": viewer.user_id}
    )
    if role is None:
        raise NotFoundError("Workspace not found.")
    return viewer.with_role(workspace_id, role)


async def _last_owner(context: Context, workspace_id: int) -> bool:
    """Whether the workspace has a single owner (call with its lock held)."""
    owners: int = await context.db.scalar(writes.owner_count(), {"workspace_id": workspace_id})
    return owners <= 1


async def _delete(context: Context, journal: Journal, membership: Any) -> Viewer | None:
    """Delete the membership; the viewer as it leaves them if it was their own (else None)."""
    await context.db.fetch_all(writes.delete_membership(), {"membership_id": membership.id})
    journal.record(_role_change(membership, "DELETED", membership.role, None))
    if membership.user_id != context.viewer.user_id:
        return None
    return context.viewer.with_role(membership.workspace_id, None)


def _slug_taken() -> UserError:
    return user_error(UserErrorCode.SLUG_TAKEN, "That slug is taken.", "slug")


def _workspace_fields(slug: str | None, name: str | None) -> list[Any]:
    errors = []
    if slug is not None and not SLUG.match(slug):
        errors.append(
            user_error(
                UserErrorCode.INVALID_INPUT,
                "Use 2 to 64 of a-z, 0-9 and '-', starting with a letter or digit.",
                "slug",
            )
        )
    if name is not None and not 0 < len(name) <= MAX_DISPLAY_NAME:
        errors.append(
            user_error(
                UserErrorCode.INVALID_INPUT, f"Use 1 to {MAX_DISPLAY_NAME} characters.", "name"
            )
        )
    return errors
