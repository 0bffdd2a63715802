"""Who may do what: every authorization decision is a named function here (`can_<verb>_<noun>`),
and what a viewer may read is `read_scope`, which every SELECT applies in SQL (`db.queries`).

An object the viewer may not read behaves exactly as if it did not exist: it is outside the read
scope, so it comes back `null` / NOT_FOUND, never "forbidden".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.enums import Role
from db.queries import ReadScope

if TYPE_CHECKING:
    from auth.viewer import Viewer


def read_scope(viewer: Viewer) -> ReadScope:
    """The scope every read is filtered by, in SQL: every role, GUEST included, reads
    everything in its workspaces; users are visible to themselves and to those sharing a
    workspace with them."""
    return ReadScope(workspace_ids=viewer.workspace_ids, viewer_id=viewer.user_id)


def can_read_workspace(viewer: Viewer, workspace_id: int) -> bool:
    """Every member, GUEST included, reads everything in the workspace (`read_scope`)."""
    return viewer.role_in(workspace_id) is not None


def can_explore_schema(viewer: Viewer, who_may: str) -> bool:
    """Introspection and "Did you mean ...?" hints; `who_may` is the setting: `off`, `members`
    (signed-in callers) or `everyone`."""
    if who_may == "members":
        return viewer.is_authenticated
    return who_may == "everyone"


def can_write(viewer: Viewer) -> bool:
    """Mutations need a signed-in viewer whose credential may write (not a read-only token)."""
    return viewer.is_authenticated and viewer.can_write


def can_manage_credentials(viewer: Viewer, user_id: int) -> bool:
    """Tokens and passwords are their owner's alone, in a signed-in session (not through an API
    token); no workspace role reaches them."""
    return viewer.user_id is not None and viewer.user_id == user_id and not viewer.via_api_token


# Workspace administration. The contract, as the README's role matrix states it:
# OWNER everything; ADMIN members (except owners), projects, labels, workflow states and the
# workspace's name; MEMBER issues and comments; GUEST reads and comments.

_MANAGERS = frozenset({Role.OWNER, Role.ADMIN})


def can_update_workspace(viewer: Viewer, workspace_id: int) -> bool:
    return can_write(viewer) and viewer.role_in(workspace_id) in _MANAGERS


def can_change_workspace_slug(viewer: Viewer, workspace_id: int) -> bool:
    """The slug is in every URL and integration: owners only."""
    return can_write(viewer) and viewer.role_in(workspace_id) is Role.OWNER


def can_delete_workspace(viewer: Viewer, workspace_id: int) -> bool:
    return can_write(viewer) and viewer.role_in(workspace_id) is Role.OWNER


def can_give_role(
    viewer: Viewer, workspace_id: int, current: Role | None, new: Role | None
) -> bool:
    """Invite (`current` None), change a role, or remove a member (`new` None). Only an owner
    grants, takes away or removes the OWNER role; admins manage everyone else."""
    return can_write(viewer) and _role_may_give(viewer.role_in(workspace_id), current, new)


def can_role_invite(inviter_role: Role | None, role: Role) -> bool:
    """Whether an invitation still holds: its inviter's role today may grant the role it
    offers (one from a member since removed, or demoted, is void)."""
    return _role_may_give(inviter_role, None, role)


def can_see_invitations(viewer: Viewer, workspace_id: int) -> bool:
    """Pending invitations (with their emails) are for those who may invite."""
    return can_give_role(viewer, workspace_id, None, Role.MEMBER)


def _role_may_give(role: Role | None, current: Role | None, new: Role | None) -> bool:
    if role not in _MANAGERS:
        return False
    return role is Role.OWNER or Role.OWNER not in (current, new)


def can_manage_webhooks(viewer: Viewer, workspace_id: int) -> bool:
    """Webhooks send the workspace's changes to other systems: managers, as for invitations."""
    return can_write(viewer) and viewer.role_in(workspace_id) in _MANAGERS


WEBHOOK_MANAGERS = _MANAGERS
"""The roles `can_manage_webhooks` lets manage a workspace's webhooks: those told when one is
disabled."""


def can_see_webhooks(viewer: Viewer, workspace_id: int) -> bool:
    """A webhook's URL may hold a receiver's credentials (many do): for those who may manage
    webhooks, as invitations are for those who may invite."""
    return can_manage_webhooks(viewer, workspace_id)


def can_see_api_tokens(viewer: Viewer, user_id: int) -> bool:
    return viewer.user_id is not None and viewer.user_id == user_id


# The tracker. Projects, labels and workflow states shape everyone's work: ADMIN+. Issues are
# everyone's daily work: MEMBER+. Guests read and comment.

_CONTRIBUTORS = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})


def can_manage_workflow(viewer: Viewer, workspace_id: int) -> bool:
    """Create, change, archive, delete and reorder projects, labels and workflow states."""
    return can_write(viewer) and viewer.role_in(workspace_id) in _MANAGERS


def can_edit_issues(viewer: Viewer, workspace_id: int) -> bool:
    """Create, update, archive and unarchive issues."""
    return can_write(viewer) and viewer.role_in(workspace_id) in _CONTRIBUTORS


def can_delete_issue(viewer: Viewer, workspace_id: int, creator_id: int | None) -> bool:
    """Deleting loses history that archiving keeps: the issue's creator, or ADMIN+."""
    role = viewer.role_in(workspace_id)
    if not can_write(viewer) or role not in _CONTRIBUTORS:
        return False
    return role in _MANAGERS or (creator_id is not None and creator_id == viewer.user_id)


def can_comment(viewer: Viewer, workspace_id: int) -> bool:
    return can_write(viewer) and viewer.role_in(workspace_id) is not None


def can_edit_comment(viewer: Viewer, workspace_id: int, author_id: int | None) -> bool:
    """Words are their author's: nobody edits someone else's comment."""
    return can_comment(viewer, workspace_id) and author_id == viewer.user_id


def can_delete_comment(viewer: Viewer, workspace_id: int, author_id: int | None) -> bool:
    """Its author, or ADMIN+ (moderation)."""
    return can_edit_comment(viewer, workspace_id, author_id) or (
        can_write(viewer) and viewer.role_in(workspace_id) in _MANAGERS
    )


# The inbox. A user's notifications and preferences are theirs alone; following an issue is
# reading it with the news delivered, so whoever may read an issue (GUEST included) may.


def can_see_notifications(viewer: Viewer, user_id: int) -> bool:
    """A user's notifications, unread count and preferences: that user's own, nobody else's."""
    return viewer.user_id is not None and viewer.user_id == user_id


def can_subscribe_to_issue(viewer: Viewer, workspace_id: int) -> bool:
    """Follow or unfollow an issue of a workspace (the issue itself is found in the read
    scope): every member, GUEST included, with a credential that may write."""
    return can_write(viewer) and can_read_workspace(viewer, workspace_id)
