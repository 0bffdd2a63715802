"""The statements behind workspaces, invitations and memberships (built once; values are
parameters)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY

from core.enums import Role
from db import models
from db.queries import (
    USER_WITH_EMAIL,
    activity,
    column_params,
    in_scope,
    memberships,
    typed_param,
    users,
    workflow_states,
    workspaces,
)
from db.writes import WORKSPACE, update_columns

if TYPE_CHECKING:
    from sqlalchemy import BindParameter, Delete, Insert, Select, Update
    from sqlalchemy.sql.dml import ReturningDelete

invitations = models.table_of(models.Invitation)

_PENDING = (invitations.c.accepted_at.is_(None), invitations.c.expires_at > func.now())
"""An invitation neither accepted nor expired: the only kind that may still be accepted."""


@cache
def insert_workspace() -> Insert:
    """Returns no row when the slug is taken."""
    return (
        postgresql.insert(workspaces)
        .values(column_params(workspaces, "slug", "name"))
        .on_conflict_do_nothing(index_elements=[workspaces.c.slug])
        .returning(*workspaces.c)
    )


@cache
def insert_workflow_states() -> Insert:
    """A new workspace's board: parameters `names`, `types` and `positions`, in step."""
    rows = select(
        WORKSPACE,
        func.unnest(bindparam("names", type_=ARRAY(workflow_states.c.name.type))),
        func.unnest(bindparam("types", type_=ARRAY(workflow_states.c.type.type))),
        func.unnest(bindparam("positions", type_=ARRAY(workflow_states.c.position.type))),
    )
    return insert(workflow_states).from_select(["workspace_id", "name", "type", "position"], rows)


@cache
def slug_taken() -> Select[Any]:
    return select(workspaces.c.id).where(
        workspaces.c.slug == typed_param("slug", workspaces.c.slug),
        workspaces.c.id != WORKSPACE,
    )


@cache
def lock_workspace() -> Select[Any]:
    """Serializes the membership changes of one workspace, so that two concurrent demotions
    cannot both see "another owner remains"."""
    return (
        select(workspaces.c.id)
        .where(workspaces.c.id == WORKSPACE)
        # NO KEY: inserts of issues and comments (which take KEY SHARE) are not blocked.
        .with_for_update(key_share=True)
    )


@cache
def owner_count() -> Select[Any]:
    return select(func.count()).where(
        memberships.c.workspace_id == WORKSPACE,
        memberships.c.role == Role.OWNER,
    )


@cache
def insert_membership() -> Insert:
    """Returns no row when the user is already a member."""
    return (
        postgresql.insert(memberships)
        .values(column_params(memberships, "workspace_id", "user_id", "role"))
        .on_conflict_do_nothing(index_elements=[memberships.c.workspace_id, memberships.c.user_id])
        .returning(*memberships.c)
    )


@cache
def membership_by_id() -> Select[Any]:
    return select(*memberships.c).where(
        memberships.c.id == bindparam("membership_id", type_=BigInteger)
    )


@cache
def membership_of_user() -> Select[Any]:
    return select(*memberships.c).where(
        memberships.c.workspace_id == WORKSPACE,
        memberships.c.user_id == bindparam("user_id", type_=BigInteger),
    )


def set_role() -> Update:
    """The membership `:target_id`'s role becomes `:new_role`: a column update like any other."""
    return update_columns(memberships, frozenset({"role"}))


@cache
def delete_membership() -> ReturningDelete[Any]:
    return (
        delete(memberships)
        .where(memberships.c.id == bindparam("membership_id", type_=BigInteger))
        .returning(*memberships.c)
    )


@cache
def member_with_email() -> Select[Any]:
    return (
        select(memberships.c.id)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.workspace_id == WORKSPACE, USER_WITH_EMAIL)
    )


@cache
def insert_invitation() -> Insert:
    fields = ("workspace_id", "email", "role", "token_hash", "invited_by", "expires_at")
    return insert(invitations).values(column_params(invitations, *fields)).returning(*invitations.c)


@cache
def invitation_names() -> Select[Any]:
    """What an invitation email says: the workspace's name and its inviter's."""
    inviter = select(users.c.name).where(users.c.id == bindparam("user_id", type_=BigInteger))
    return select(
        workspaces.c.name.label("workspace_name"),
        inviter.scalar_subquery().label("inviter_name"),
    ).where(workspaces.c.id == WORKSPACE)


@cache
def user_email() -> Select[Any]:
    return select(users.c.email).where(users.c.id == bindparam("user_id", type_=BigInteger))


@cache
def delete_workspace() -> ReturningDelete[Any]:
    """Everything in it goes too: every table's foreign key cascades from workspaces, and the
    activity log (which has none, see `models.Activity`) goes first, in the same statement."""
    workspace_id: BindParameter[int] = WORKSPACE
    activity_gone = (
        delete(activity).where(activity.c.workspace_id == workspace_id).cte("activity_gone")
    )
    return (
        delete(workspaces)
        .where(workspaces.c.id == workspace_id)
        .returning(workspaces.c.id)
        .add_cte(activity_gone)
    )


@cache
def role_of_user() -> Select[Any]:
    return select(memberships.c.role).where(
        memberships.c.workspace_id == WORKSPACE,
        memberships.c.user_id == bindparam("user_id", type_=BigInteger),
    )


@cache
def invitation_to_accept() -> Select[Any]:
    """A live invitation for `email`, with its inviter's role in the workspace today."""
    inviter = memberships.alias("inviter")
    return (
        select(*invitations.c, inviter.c.role.label("inviter_role"))
        .outerjoin(
            inviter,
            (inviter.c.workspace_id == invitations.c.workspace_id)
            & (inviter.c.user_id == invitations.c.invited_by),
        )
        .where(
            invitations.c.token_hash == typed_param("token_hash", invitations.c.token_hash),
            func.lower(invitations.c.email) == typed_param("email", invitations.c.email),
            *_PENDING,
        )
        .with_for_update(of=invitations)
    )


@cache
def mark_invitation_accepted() -> Update:
    return (
        update(invitations)
        .where(invitations.c.id == bindparam("invitation_id", type_=BigInteger))
        .values(accepted_at=func.now())
    )


INVITATION_COLUMNS = tuple(
    invitations.c[name]
    for name in ("id", "workspace_id", "email", "role", "created_at", "expires_at", "accepted_at")
)


@cache
def pending_invitations() -> Select[Any]:
    """A workspace's invitations not yet accepted nor expired, newest first."""
    return (
        select(*INVITATION_COLUMNS)
        .where(invitations.c.workspace_id == WORKSPACE, *_PENDING)
        .order_by(invitations.c.created_at.desc(), invitations.c.id.desc())
    )


@cache
def invitation_by_id() -> Select[Any]:
    return select(*INVITATION_COLUMNS).where(
        invitations.c.id == bindparam("invitation_id", type_=BigInteger),
        invitations.c.accepted_at.is_(None),
    )


@cache
def delete_invitation() -> Delete:
    return delete(invitations).where(
        invitations.c.id == bindparam("invitation_id", type_=BigInteger)
    )


@cache
def visible_invitations() -> Select[Any]:
    """Invitations of the viewer's workspaces; which of them the viewer may see is
    `auth.policies.can_see_invitations`."""
    return select(*INVITATION_COLUMNS).where(in_scope(invitations.c.workspace_id))
