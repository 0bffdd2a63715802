"""Workspaces, invitations and memberships: authorize → validate → write → commit → map.

A workspace the viewer does not belong to, and a membership in one, are NOT_FOUND exactly like
ones that do not exist. A visible one the viewer's role may not change is FORBIDDEN. Role changes
take a lock on the workspace row first, so a workspace always keeps at least one OWNER even when
two owners demote each other at the same moment.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg

from auth import policies, tokens
from core.enums import Role, WorkflowStateType
from core.errors import ForbiddenError, NotFoundError, UserErrorCode, user_error
from core.ids import from_global_id, to_global_id
from db import activity
from db import membership_writes as writes
from db.activity import Change
from resolvers.guards import require_writer, visible_workspace_id
from resolvers.mutations import Outcome

if TYPE_CHECKING:
    from auth.viewer import Viewer
    from resolvers.context import Context

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 200
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


async def workspace_create(context: Context, slug: str, name: str) -> Outcome:
    """The creator becomes its OWNER; the board starts with the usual five states."""
    user_id = require_writer(context)
    slug, name = slug.strip(), name.strip()
    errors = _workspace_fields(slug, name)
    if errors:
        return Outcome(errors=errors)
    db = context.db
    row = await db.fetch_one(writes.insert_workspace(), {"slug": slug, "name": name})
    if row is None:
        return Outcome(errors=[user_error(UserErrorCode.SLUG_TAKEN, "That slug is taken.", "slug")])
    await db.fetch_all(
        writes.insert_membership(), {"workspace_id": row.id, "user_id": user_id, "role": Role.OWNER}
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
    await _commit(context, Change(row.id, "Workspace", row.id, "CREATED"))
    _rescope(context, {**context.viewer.roles, row.id: Role.OWNER})
    return Outcome(workspace=row)


async def workspace_update(
    context: Context, workspace_id: str, name: str | None, slug: str | None
) -> Outcome:
    require_writer(context)
    pk = visible_workspace_id(context, workspace_id)
    viewer = await _locked_actor(context, pk)
    if not policies.can_update_workspace(viewer, pk) or (
        slug is not None and not policies.can_change_workspace_slug(viewer, pk)
    ):
        raise ForbiddenError("Your role in this workspace may not change that.")
    name = name.strip() if name is not None else None
    slug = slug.strip() if slug is not None else None
    errors = _workspace_fields(slug, name)
    if slug is not None and not errors:
        taken = await context.db.fetch_one(writes.slug_taken(), {"slug": slug, "workspace_id": pk})
        if taken is not None:
            errors.append(user_error(UserErrorCode.SLUG_TAKEN, "That slug is taken.", "slug"))
    if errors:
        return Outcome(errors=errors)
    before = await context.loaders.workspace_by_id.load(pk)
    try:
        row = await context.db.fetch_one(
            writes.update_workspace(), {"workspace_id": pk, "name": name, "slug": slug}
        )
    except asyncpg.UniqueViolationError:  # taken by a concurrent rename since the check
        await context.db.rollback()
        return Outcome(errors=[user_error(UserErrorCode.SLUG_TAKEN, "That slug is taken.", "slug")])
    await _commit(
        context,
        *(
            Change(pk, "Workspace", pk, "UPDATED", field=field, from_value=old, to_value=new)
            for field, old, new in (
                ("name", before.name, row.name),
                ("slug", before.slug, row.slug),
            )
            if old != new
        ),
    )
    return Outcome(workspace=row)


async def workspace_delete(context: Context, workspace_id: str) -> Outcome:
    """Owners only; its projects, issues, comments, labels and memberships go with it."""
    require_writer(context)
    pk = visible_workspace_id(context, workspace_id)
    if not policies.can_delete_workspace(await _locked_actor(context, pk), pk):
        raise ForbiddenError("Only an owner may delete the workspace.")
    await context.db.fetch_all(writes.delete_workspace(), {"workspace_id": pk})
    await context.db.commit()
    roles = dict(context.viewer.roles)
    roles.pop(pk, None)
    _rescope(context, roles)
    return Outcome(deleted_workspace_id=workspace_id)


async def member_invite(context: Context, workspace_id: str, email: str, role: Role) -> Outcome:
    user_id = require_writer(context)
    pk = visible_workspace_id(context, workspace_id)
    if not policies.can_give_role(await _locked_actor(context, pk), pk, None, role):
        raise ForbiddenError("Your role in this workspace may not invite with that role.")
    email = email.strip()
    if len(email) > 320 or not EMAIL.match(email):
        return Outcome(
            errors=[user_error(UserErrorCode.INVALID_INPUT, "Not an email address.", "email")]
        )
    db = context.db
    member = await db.fetch_one(
        writes.member_with_email(), {"workspace_id": pk, "email": email.lower()}
    )
    if member is not None:
        return Outcome(
            errors=[user_error(UserErrorCode.ALREADY_MEMBER, "Already a member.", "email")]
        )
    secret = tokens.new_secret(INVITATION_PREFIX)
    row = await db.fetch_one(
        writes.insert_invitation(),
        {
            "workspace_id": pk,
            "email": email,
            "role": role,
            "token_hash": tokens.secret_hash(secret),
            "invited_by": user_id,
            "expires_at": datetime.now(UTC) + timedelta(days=INVITATION_DAYS),
        },
    )
    # The email is for those who may invite (`workspace.invitations`), not for the whole log.
    await _commit(
        context, Change(pk, "Invitation", row.id, "CREATED", field="role", to_value=role.value)
    )
    return Outcome(invitation=row, token=secret)


async def invitation_revoke(context: Context, invitation_id: str) -> Outcome:
    """Whoever may invite with the invitation's role may revoke it; others get NOT_FOUND for
    invitations of workspaces they are not in."""
    require_writer(context)
    decoded = from_global_id(invitation_id)
    row = None
    if decoded is not None and decoded[0] == "Invitation":
        row = await context.db.fetch_one(writes.invitation_by_id(), {"invitation_id": decoded[1]})
    if row is None or context.viewer.role_in(row.workspace_id) is None:
        raise NotFoundError("Invitation not found.")
    actor = await _locked_actor(context, row.workspace_id)
    if not policies.can_give_role(actor, row.workspace_id, None, row.role):
        raise ForbiddenError("Your role in this workspace may not revoke that invitation.")
    await context.db.fetch_all(writes.delete_invitation(), {"invitation_id": row.id})
    await _commit(context, Change(row.workspace_id, "Invitation", row.id, "DELETED"))
    return Outcome(revoked_invitation_id=invitation_id)


async def pending_invitations(context: Context, workspace_id: int) -> list[Any] | None:
    """For those who may invite (ADMIN+); null for anyone else."""
    if not policies.can_give_role(context.viewer, workspace_id, None, Role.MEMBER):
        return None
    rows = await context.db.fetch_all(writes.pending_invitations(), {"workspace_id": workspace_id})
    return list(rows)


async def invitation_accept(context: Context, token: str) -> Outcome:
    """Only the invited email's account may accept; any other token is simply not found."""
    user_id = require_writer(context)
    db = context.db
    email = await db.scalar(writes.user_email(), {"user_id": user_id})
    invitation = await db.fetch_one(
        writes.invitation_to_accept(),
        {"token_hash": tokens.secret_hash(token), "email": (email or "").lower()},
    )
    # An invitation is only as good as its inviter's authority today: one from a member since
    # removed, or demoted below the role it grants, is void.
    if invitation is None or not _may_have_granted(invitation.inviter_role, invitation.role):
        return Outcome(errors=[user_error(UserErrorCode.NOT_FOUND, "No such invitation.", "token")])
    await db.fetch_all(writes.mark_invitation_accepted(), {"invitation_id": invitation.id})
    row = await db.fetch_one(
        writes.insert_membership(),
        {"workspace_id": invitation.workspace_id, "user_id": user_id, "role": invitation.role},
    )
    if row is None:
        await db.rollback()  # the invitation stays unaccepted
        return Outcome(
            errors=[user_error(UserErrorCode.ALREADY_MEMBER, "Already a member.", "token")]
        )
    await _commit(
        context,
        Change(
            row.workspace_id, "Membership", row.id, "CREATED", field="role", to_value=row.role.value
        ),
    )
    _rescope(context, {**context.viewer.roles, row.workspace_id: row.role})
    return Outcome(membership=row)


async def member_update_role(context: Context, membership_id: str, role: Role) -> Outcome:
    require_writer(context)
    membership, actor = await _locked_membership(context, membership_id)
    if not policies.can_give_role(actor, membership.workspace_id, membership.role, role):
        raise ForbiddenError("Your role in this workspace may not give or take that role.")
    if (
        membership.role is Role.OWNER
        and role is not Role.OWNER
        and await _last_owner(context, membership.workspace_id)
    ):
        return Outcome(errors=[user_error(UserErrorCode.LAST_OWNER, LAST_OWNER)])
    row = await context.db.fetch_one(
        writes.set_role(), {"membership_id": membership.id, "role": role}
    )
    await _commit(
        context,
        *(
            [
                Change(
                    row.workspace_id,
                    "Membership",
                    row.id,
                    "UPDATED",
                    field="role",
                    from_value=membership.role.value,
                    to_value=row.role.value,
                )
            ]
            if membership.role is not row.role
            else []
        ),
    )
    return Outcome(membership=row)


async def member_remove(context: Context, membership_id: str) -> Outcome:
    require_writer(context)
    membership, actor = await _locked_membership(context, membership_id)
    if not policies.can_give_role(actor, membership.workspace_id, membership.role, None):
        raise ForbiddenError("Your role in this workspace may not remove that member.")
    if membership.role is Role.OWNER and await _last_owner(context, membership.workspace_id):
        return Outcome(errors=[user_error(UserErrorCode.LAST_OWNER, LAST_OWNER)])
    await _delete(context, membership)
    return Outcome(removed_membership_id=to_global_id("Membership", membership.id))


async def workspace_leave(context: Context, workspace_id: str) -> Outcome:
    user_id = require_writer(context)
    pk = visible_workspace_id(context, workspace_id)
    await context.db.fetch_all(writes.lock_workspace(), {"workspace_id": pk})
    membership = await context.db.fetch_one(
        writes.membership_of_user(), {"workspace_id": pk, "user_id": user_id}
    )
    if membership is None:
        raise NotFoundError("Workspace not found.")
    if membership.role is Role.OWNER and await _last_owner(context, pk):
        return Outcome(errors=[user_error(UserErrorCode.LAST_OWNER, LAST_OWNER)])
    await _delete(context, membership)
    return Outcome()


async def _locked_membership(context: Context, global_id: str) -> tuple[Any, Viewer]:
    """The membership and the acting viewer, both read again under the workspace's lock (held
    until commit), so the role checks see what concurrent changes committed; NOT_FOUND outside
    the viewer's scope."""
    decoded = from_global_id(global_id)
    membership_pk = decoded[1] if decoded is not None and decoded[0] == "Membership" else None
    row = None
    if membership_pk is not None:
        row = await context.db.fetch_one(
            writes.membership_by_id(), {"membership_id": membership_pk}
        )
    if row is None or context.viewer.role_in(row.workspace_id) is None:
        raise NotFoundError("Membership not found.")
    actor = await _locked_actor(context, row.workspace_id)
    row = await context.db.fetch_one(writes.membership_by_id(), {"membership_id": membership_pk})
    if row is None:
        raise NotFoundError("Membership not found.")
    return row, actor


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
    return dataclasses.replace(viewer, roles={**viewer.roles, workspace_id: role})


def _may_have_granted(inviter_role: Role | None, role: Role) -> bool:
    if inviter_role not in (Role.OWNER, Role.ADMIN):
        return False
    return inviter_role is Role.OWNER or role is not Role.OWNER


async def _last_owner(context: Context, workspace_id: int) -> bool:
    """Whether the workspace has a single owner (call with its lock held)."""
    owners = await context.db.scalar(writes.owner_count(), {"workspace_id": workspace_id})
    return owners <= 1


async def _commit(context: Context, *changes: Change) -> None:
    """Commit, with the changes appended to the activity log in the same transaction."""
    await activity.append(context.db, context.viewer.user_id, changes)
    await context.db.commit()


async def _delete(context: Context, membership: Any) -> None:
    await context.db.fetch_all(writes.delete_membership(), {"membership_id": membership.id})
    await _commit(
        context,
        Change(
            membership.workspace_id,
            "Membership",
            membership.id,
            "DELETED",
            field="role",
            from_value=membership.role.value,
        ),
    )
    if membership.user_id == context.viewer.user_id:
        roles = dict(context.viewer.roles)
        roles.pop(membership.workspace_id, None)
        _rescope(context, roles)


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
    if name is not None and not 0 < len(name) <= MAX_NAME:
        errors.append(
            user_error(UserErrorCode.INVALID_INPUT, f"Use 1 to {MAX_NAME} characters.", "name")
        )
    return errors


def _rescope(context: Context, roles: dict[int, Role]) -> None:
    """After a committed change of the viewer's own memberships, the rest of the response
    (the payload's nested fields) reads with the new scope."""
    context.reload(dataclasses.replace(context.viewer, roles=roles))
