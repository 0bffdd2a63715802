"""The statements of the inbox: notifications, preferences, issue subscriptions.

A notification is its recipient's alone: every read of one is scoped to the viewer's own rows
(`user_id = scope_viewer_id`) and, like everything else, to the viewer's workspaces, so the
notifications of a workspace the user has left are not shown.

Preferences without a row take the defaults: in-app on for every kind, email on for ASSIGNED and
MENTIONED only (`EMAIL_BY_DEFAULT`).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    String,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by

from core.enums import NotificationKind
from db import models
from db.queries import SCOPE_VIEWER, comments, in_scope, issues, memberships, projects, users
from db.writes import TARGET, id_array

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Delete, Insert, Select, Update

EMAIL_BY_DEFAULT = frozenset({NotificationKind.ASSIGNED, NotificationKind.MENTIONED})
"""The kinds emailed unless the user says otherwise; every kind is shown in the app unless
they say otherwise."""

notifications = models.table_of(models.Notification)
preferences = models.table_of(models.NotificationPreference)
subscriptions = models.table_of(models.IssueSubscription)

_KIND = notifications.c.kind.type
_ACTORS = users.alias("actors")


def _kinds(name: str) -> Any:
    return cast(func.unnest(bindparam(name, type_=ARRAY(String))), _KIND)


def _emailed_by_default(kind: ColumnElement[Any]) -> ColumnElement[bool]:
    # Constants of the statement's text (the enum's own values), not parameters: the statement
    # is compiled once.
    return or_(
        *(
            kind == cast(literal_column(f"'{k.value}'"), _KIND)
            for k in sorted(EMAIL_BY_DEFAULT, key=lambda k: k.value)
        )
    )


# ---- what a mutation's changes are about (read by `resolvers.notifications.notify`) ---------


@cache
def facts() -> Select[Any]:
    """What notifications need of the issues `issue_ids` a mutation changed: each one's fields,
    the subscribers it had before this statement, and its comments among `comment_ids` (ids and
    bodies, in the same order). Unscoped: the mutation already decided the actor may change them.

    The same statement subscribes each (`subscribe_issue_ids`[i], `subscribe_user_ids`[i]) in
    `subscribe_workspace_ids`[i], and the assignee of each of the issues `created_ids`; as one
    snapshot, the subscribers it reads do not include these (who are the actor, or are told of
    their assignment anyway)."""
    pairs = select(
        func.unnest(id_array("subscribe_issue_ids")),
        func.unnest(id_array("subscribe_user_ids")),
        func.unnest(id_array("subscribe_workspace_ids")),
    )
    assignees = select(issues.c.id, issues.c.assignee_id, issues.c.workspace_id).where(
        issues.c.id == any_(id_array("created_ids")), issues.c.assignee_id.is_not(None)
    )
    subscribed = (
        postgresql.insert(subscriptions)
        .from_select(["issue_id", "user_id", "workspace_id"], union_all(pairs, assignees))
        .on_conflict_do_nothing(index_elements=[subscriptions.c.issue_id, subscriptions.c.user_id])
        .cte("subscribed")
    )
    subscriber_ids = (
        select(func.array_agg(subscriptions.c.user_id))
        .where(subscriptions.c.issue_id == issues.c.id)
        .scalar_subquery()
    )

    def of_comments(column: Any) -> Any:
        return (
            select(func.array_agg(aggregate_order_by(column, comments.c.id)))
            .where(
                comments.c.issue_id == issues.c.id,
                comments.c.id == any_(id_array("comment_ids")),
            )
            .scalar_subquery()
        )

    return (
        select(
            issues.c.id,
            issues.c.workspace_id,
            issues.c.number,
            issues.c.title,
            issues.c.description,
            issues.c.assignee_id,
            projects.c.key.label("project_key"),
            subscriber_ids.label("subscriber_ids"),
            of_comments(comments.c.id).label("comment_ids"),
            of_comments(comments.c.body).label("comment_bodies"),
        )
        .select_from(issues.join(projects, projects.c.id == issues.c.project_id))
        .where(issues.c.id == any_(id_array("issue_ids")))
        .add_cte(subscribed)
    )


@cache
def members_by_handle() -> Select[Any]:
    """Members of the workspaces `workspace_ids` whose handle (their email's local part, lower
    case) or whole email (lower case) is among `handles`."""
    email = func.lower(users.c.email)
    return (
        select(
            users.c.id,
            memberships.c.workspace_id,
            email.label("email"),
            func.split_part(email, "@", 1).label("handle"),
        )
        .select_from(users.join(memberships, memberships.c.user_id == users.c.id))
        .where(
            memberships.c.workspace_id == any_(id_array("workspace_ids")),
            (func.split_part(email, "@", 1) == any_(bindparam("handles", type_=ARRAY(String))))
            | (email == any_(bindparam("handles", type_=ARRAY(String)))),
        )
    )


@cache
def recipients() -> Select[Any]:
    """For each (`user_ids`[i], `workspace_ids`[i], `kinds`[i]), the user's address and
    preferences for that kind, if they are still a member of that workspace (one who left gets
    nothing)."""
    wanted = select(
        func.unnest(id_array("user_ids")).label("user_id"),
        func.unnest(id_array("workspace_ids")).label("workspace_id"),
        _kinds("kinds").label("kind"),
    ).subquery("wanted")
    return select(
        wanted.c.user_id,
        wanted.c.workspace_id,
        wanted.c.kind,
        users.c.email.label("address"),
        select(_ACTORS.c.name)
        .where(_ACTORS.c.id == bindparam("actor_id", type_=BigInteger))
        .scalar_subquery()
        .label("actor_name"),
        func.coalesce(preferences.c.in_app, true()).label("in_app"),
        func.coalesce(preferences.c.email, _emailed_by_default(wanted.c.kind)).label("email"),
    ).select_from(
        wanted.join(
            memberships,
            and_(
                memberships.c.user_id == wanted.c.user_id,
                memberships.c.workspace_id == wanted.c.workspace_id,
            ),
        )
        .join(users, users.c.id == wanted.c.user_id)
        .outerjoin(
            preferences,
            and_(preferences.c.user_id == wanted.c.user_id, preferences.c.kind == wanted.c.kind),
        )
    )


@cache
def insert_notifications() -> Insert:
    rows = select(
        func.unnest(id_array("user_ids")),
        func.unnest(id_array("workspace_ids")),
        _kinds("kinds"),
        func.unnest(id_array("issue_ids")),
        func.unnest(id_array("comment_ids")),
        bindparam("actor_id", type_=BigInteger),
    )
    return postgresql.insert(notifications).from_select(
        ["user_id", "workspace_id", "kind", "issue_id", "comment_id", "actor_id"], rows
    )


# ---- the viewer's inbox -------------------------------------------------------------------


def _own(table: Any = notifications) -> ColumnElement[bool]:
    return and_(table.c.user_id == SCOPE_VIEWER, in_scope(table.c.workspace_id))


@cache
def visible_notifications() -> Select[Any]:
    """The viewer's own notifications, of their workspaces (the loaders' query)."""
    return select(notifications).where(_own())


@cache
def visible_unread_notifications() -> Select[Any]:
    return visible_notifications().where(notifications.c.read_at.is_(None))


@cache
def mark_read() -> Update:
    """The viewer's notification `target_id` read (a read one keeps its time); returned."""
    return (
        update(notifications)
        .where(notifications.c.id == TARGET, _own())
        .values(read_at=func.coalesce(notifications.c.read_at, func.now()))
        .returning(*notifications.c)
    )


def mark_all_read(*, in_workspace: bool) -> Update:
    """Every unread notification of the viewer (of the workspace `workspace_id`) read; returns
    their ids."""
    return _MARK_ALL[in_workspace]


def _mark_all(in_workspace: bool) -> Update:
    statement = (
        update(notifications)
        .where(_own(), notifications.c.read_at.is_(None))
        .values(read_at=func.now())
        .returning(notifications.c.id)
    )
    if in_workspace:
        statement = statement.where(
            notifications.c.workspace_id == bindparam("workspace_id", type_=BigInteger)
        )
    return statement


_MARK_ALL = {flag: _mark_all(flag) for flag in (False, True)}


@cache
def preferences_of() -> Select[Any]:
    return select(preferences.c.kind, preferences.c.in_app, preferences.c.email).where(
        preferences.c.user_id == bindparam("user_id", type_=BigInteger)
    )


@cache
def set_preference() -> Insert:
    """Sets `user_id`'s preference for `kind`: `in_app` / `email` (null: keep the current
    value, or the default); returns it, or nothing if there is no such user."""
    user_id = bindparam("user_id", type_=BigInteger)
    kind = cast(bindparam("kind", type_=String), _KIND)
    in_app = bindparam("in_app", type_=Boolean)
    email = bindparam("email", type_=Boolean)
    row = select(
        user_id,
        kind,
        func.coalesce(in_app, true()),
        func.coalesce(email, _emailed_by_default(kind)),
    ).where(exists().where(users.c.id == user_id))
    return (
        postgresql.insert(preferences)
        .from_select(["user_id", "kind", "in_app", "email"], row)
        .on_conflict_do_update(
            index_elements=[preferences.c.user_id, preferences.c.kind],
            set_={
                "in_app": func.coalesce(in_app, preferences.c.in_app),
                "email": func.coalesce(email, preferences.c.email),
            },
        )
        .returning(preferences.c.kind, preferences.c.in_app, preferences.c.email)
    )


# ---- subscriptions ------------------------------------------------------------------------


@cache
def subscribe() -> Insert:
    return (
        postgresql.insert(subscriptions)
        .values(
            issue_id=TARGET,
            user_id=bindparam("user_id", type_=BigInteger),
            workspace_id=bindparam("workspace_id", type_=BigInteger),
        )
        .on_conflict_do_nothing(index_elements=[subscriptions.c.issue_id, subscriptions.c.user_id])
    )


@cache
def unsubscribe() -> Delete:
    return delete(subscriptions).where(
        subscriptions.c.issue_id == TARGET,
        subscriptions.c.user_id == bindparam("user_id", type_=BigInteger),
    )


@cache
def viewer_subscriptions() -> Select[Any]:
    """Which of the issues `keys` the viewer follows (the loader's query)."""
    return select(subscriptions.c.issue_id, literal(True).label("subscribed")).where(
        subscriptions.c.user_id == SCOPE_VIEWER,
        in_scope(subscriptions.c.workspace_id),
        subscriptions.c.issue_id == any_(id_array("keys")),
    )
