"""SQLAlchemy models: the tables Backlog stores.

Rows that belong to a workspace carry `workspace_id` themselves (issues and comments too), so that
every policy and every loader can scope a query to the viewer's workspaces without a join, and so
that composite foreign keys can make "a label/state/project of another workspace" impossible at the
database level, whatever the application does.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.enums import NotificationKind, Priority, Role, TokenScope, WorkflowStateType

if TYPE_CHECKING:
    from sqlalchemy.schema import SchemaItem

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """The model's table, typed as one: SQLAlchemy types `__table__` as any `FromClause`."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _pg_enum(enum_class: type[enum.Enum], name: str) -> Enum:
    return Enum(enum_class, name=name, values_callable=lambda members: [m.value for m in members])


NEW_POSITION = "extract(epoch from clock_timestamp())"
SEARCH_CONFIGURATION = "english"
ISSUE_SEARCH_VECTOR = (
    f"setweight(to_tsvector('{SEARCH_CONFIGURATION}'::regconfig, title), 'A') || "
    f"setweight(to_tsvector('{SEARCH_CONFIGURATION}'::regconfig, description), 'B')"
)
COMMENT_SEARCH_VECTOR = f"to_tsvector('{SEARCH_CONFIGURATION}'::regconfig, body)"


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def _owner_id() -> Mapped[int]:
    """The user a row belongs to: the row goes with their account."""
    return mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)


def _user_named_id() -> Mapped[int | None]:
    """A user a row names (a lead, an assignee, an author): null once their account is gone."""
    return mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)


class _WorkspaceKeyed:
    """A row of one workspace that other rows point at by `(id, workspace_id)`, a composite
    foreign key: what they point at is then in their own workspace. Its table's arguments come
    from `_workspace_keyed`."""

    # First, as the migrations made them (a mixin's columns would otherwise come last).
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, sort_order=-1)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, sort_order=-1
    )


def _workspace_keyed(*table_args: SchemaItem) -> tuple[SchemaItem, ...]:
    """The `__table_args__` of a `_WorkspaceKeyed` table: its own and the unique constraint the
    composite foreign keys need."""
    return (UniqueConstraint("id", "workspace_id"), *table_args)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    sessions_valid_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Access tokens issued before this (a password reset) are refused."""

    __table_args__ = (Index("uq_users_email_lower", func.lower(email), unique=True),)


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (CheckConstraint("slug ~ '^[a-z0-9][a-z0-9-]*$'", name="slug_format"),)


class Membership(Base):
    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[int] = _owner_id()
    role: Mapped[Role] = mapped_column(_pg_enum(Role, "role"), nullable=False)
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)


class Project(_WorkspaceKeyed, Base):
    __tablename__ = "projects"

    key: Mapped[str] = mapped_column(String(10), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    lead_id: Mapped[int | None] = _user_named_id()
    # Next issue number: taken with UPDATE ... RETURNING so concurrent creates never collide.
    last_issue_number: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    created_at: Mapped[datetime] = _created_at()
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = _workspace_keyed(
        UniqueConstraint("workspace_id", "key"),
        CheckConstraint("key ~ '^[A-Z][A-Z0-9]{0,9}$'", name="key_format"),
    )


class WorkflowState(_WorkspaceKeyed, Base):
    __tablename__ = "workflow_states"

    name: Mapped[str] = mapped_column(String(100), nullable=False)
    type: Mapped[WorkflowStateType] = mapped_column(
        _pg_enum(WorkflowStateType, "workflow_state_type"), nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = _workspace_keyed(
        UniqueConstraint("workspace_id", "name"),
        Index("ix_workflow_states_workspace_position", "workspace_id", "position"),
    )


class Label(_WorkspaceKeyed, Base):
    __tablename__ = "labels"

    name: Mapped[str] = mapped_column(String(100), nullable=False)
    color: Mapped[str] = mapped_column(String(7), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")

    __table_args__ = _workspace_keyed(
        UniqueConstraint("workspace_id", "name"),
        CheckConstraint("color ~ '^#[0-9a-f]{6}$'", name="color_format"),
    )


class Issue(_WorkspaceKeyed, Base):
    __tablename__ = "issues"

    project_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    state_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    priority: Mapped[Priority] = mapped_column(
        _pg_enum(Priority, "priority"), nullable=False, server_default=Priority.NONE.value
    )
    assignee_id: Mapped[int | None] = _user_named_id()
    creator_id: Mapped[int | None] = _user_named_id()
    parent_id: Mapped[int | None] = mapped_column(BigInteger)
    estimate: Mapped[int | None] = mapped_column(Integer)
    due_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    # Manual order (drag and drop): a move sets a value between its new neighbours', so it
    # writes one row. New issues go last (the clock only grows).
    position: Mapped[float] = mapped_column(
        Float, nullable=False, server_default=text(NEW_POSITION)
    )
    # Maintained by PostgreSQL; titles weigh more than descriptions in search ranking.
    search_vector: Mapped[str] = mapped_column(TSVECTOR, Computed(ISSUE_SEARCH_VECTOR))

    __table_args__ = _workspace_keyed(
        UniqueConstraint("project_id", "number"),
        ForeignKeyConstraint(
            ["project_id", "workspace_id"],
            ["projects.id", "projects.workspace_id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["state_id", "workspace_id"],
            ["workflow_states.id", "workflow_states.workspace_id"],
        ),
        ForeignKeyConstraint(
            ["parent_id", "workspace_id"],
            ["issues.id", "issues.workspace_id"],
            ondelete="SET NULL (parent_id)",
        ),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        CheckConstraint("estimate IS NULL OR estimate >= 0", name="estimate_non_negative"),
        CheckConstraint("number > 0", name="number_positive"),
        Index("ix_issues_workspace_id_id", "workspace_id", "id"),
        # The default order of issue lists (newest first), scanned backwards: a page reads
        # `first` index entries instead of sorting the whole workspace.
        Index("ix_issues_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
        Index("ix_issues_project_id_created_at_id", "project_id", "created_at", "id"),
        # Common orders of a workspace's issues (orderBy PRIORITY, UPDATED_AT, POSITION).
        Index("ix_issues_workspace_id_priority_id", "workspace_id", "priority", "id"),
        Index("ix_issues_workspace_id_updated_at_id", "workspace_id", "updated_at", "id"),
        Index("ix_issues_workspace_id_position_id", "workspace_id", "position", "id"),
        # A board column: a state's newest issues (and the state's foreign key).
        Index("ix_issues_state_id_created_at_id", "state_id", "created_at", "id"),
        Index("ix_issues_parent_id_workspace_id", "parent_id", "workspace_id"),
        Index("ix_issues_search_vector", "search_vector", postgresql_using="gin"),
    )


UNASSIGNED = 0
"""`IssueCount.assignee_id` of the issues without an assignee (no user has id 0)."""


class IssueCount(Base):
    """How many issues share a workspace, state, project, assignee and archived-or-not: what
    issue lists and board columns count from (`db.issue_counts`) instead of counting issues.

    PostgreSQL keeps it, not the application: triggers on `issues` (migration 0013) apply every
    INSERT, UPDATE, DELETE and TRUNCATE of issues here in the same transaction, cascades and
    hand-written SQL included, so it cannot disagree with `issues` once committed. No foreign
    keys: the rows are derived, and go when their issues go.
    """

    __tablename__ = "issue_counts"

    # The key's order serves the reads: a workspace's rows, then one state's (a board column).
    workspace_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    state_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    project_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # `UNASSIGNED`, not NULL, for no assignee: a key column cannot be NULL (a primary key is
    # what replication and every tool expect of a table that is updated).
    assignee_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    archived: Mapped[bool] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    """Never below 1: the triggers delete a row whose count falls to 0, and refuse a write that
    would take one below it (a lost delta)."""


class IssueLabel(Base):
    __tablename__ = "issue_labels"

    issue_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    label_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(BigInteger, nullable=False)

    __table_args__ = (
        ForeignKeyConstraint(
            ["issue_id", "workspace_id"], ["issues.id", "issues.workspace_id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["label_id", "workspace_id"], ["labels.id", "labels.workspace_id"], ondelete="CASCADE"
        ),
        Index("ix_issue_labels_label_id_workspace_id", "label_id", "workspace_id"),
        Index("ix_issue_labels_workspace_id", "workspace_id"),
    )


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    issue_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    author_id: Mapped[int | None] = _user_named_id()
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _created_at()
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    search_vector: Mapped[str] = mapped_column(TSVECTOR, Computed(COMMENT_SEARCH_VECTOR))

    __table_args__ = (
        ForeignKeyConstraint(
            ["issue_id", "workspace_id"], ["issues.id", "issues.workspace_id"], ondelete="CASCADE"
        ),
        # Comments are listed oldest first per issue.
        Index("ix_comments_issue_id_created_at_id", "issue_id", "created_at", "id"),
        Index("ix_comments_workspace_id", "workspace_id"),
        Index("ix_comments_search_vector", "search_vector", postgresql_using="gin"),
    )


# Credentials. Secrets are never stored: only their SHA-256, which is enough to find a presented
# token (they are 256-bit random strings, so a fast hash does not weaken them).


def _token_hash() -> Mapped[str]:
    return mapped_column(String(64), nullable=False, unique=True)


class RefreshToken(Base):
    """One link of a rotation chain; all links of one sign-in share `family_id`."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = _owner_id()
    family_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    token_hash: Mapped[str] = _token_hash()
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PasswordReset(Base):
    """A password reset sent by email: its token works once, until `expires_at`. Asking again
    expires the earlier ones (`expires_at` set to then), and the rows stay until the account
    goes, for the per-account limit on reset emails."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A personal token for scripts and mobile clients."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = _owner_id()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    scope: Mapped[TokenScope] = mapped_column(_pg_enum(TokenScope, "token_scope"), nullable=False)
    token_hash: Mapped[str] = _token_hash()
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInFailure(Base):
    """A failed sign-in, for throttling per account and per client address across processes."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    client_address: Mapped[str] = mapped_column(String(64), nullable=False)
    failed_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        Index("ix_sign_in_failures_email_failed_at", "email", "failed_at"),
        Index("ix_sign_in_failures_client_address_failed_at", "client_address", "failed_at"),
    )


class Invitation(Base):
    """An invitation to a workspace for an email address; its token is shown once."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    role: Mapped[Role] = mapped_column(_pg_enum(Role, "role"), nullable=False)
    token_hash: Mapped[str] = _token_hash()
    invited_by: Mapped[int | None] = _user_named_id()
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Activity(Base):
    """The activity log: one row per change (who, when, which field, from, to).

    It is each workspace's ordered stream of everything that happens in it, which integrations
    read by `id` (`workspace.activity`, `workspace.changes`): within a workspace, ids are handed
    out in commit order (see `db.activity`), so a reader of workspace W that has seen id N never
    later finds a smaller id of W (ids of different workspaces interleave in any order). Rows
    outlive their subject (a deleted issue keeps its history until the workspace goes), so
    subjects are plain ids, not keys. Workspace and actor are plain ids too: a foreign key check
    would take a lock on their rows while the stream's lock is held, and a workspace's deletion
    or an actor's update would then stall that stream's writes. `workspaceDelete` deletes the
    workspace's entries itself.
    """

    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    subject_type: Mapped[str] = mapped_column(String(32), nullable=False)
    subject_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    issue_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    field: Mapped[str | None] = mapped_column(String(64))
    from_value: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        Index("ix_activity_workspace_id_id", "workspace_id", "id"),
        Index("ix_activity_issue_id_id", "issue_id", "id"),
    )


class IdempotencyKey(Base):
    """A client's key for one create or update, kept 24 hours: a retry with the same key gets
    the first attempt's result instead of doing the work again."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    operation: Mapped[str] = mapped_column(String(64), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    result: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)


class PersistedOperation(Base):
    """A GraphQL document kept by its SHA-256 (hex): registered by a client (automatic persisted
    queries) or pushed as a trusted document (`backlog operations push`)."""

    __tablename__ = "persisted_operations"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[str] = mapped_column(Text, nullable=False)
    trusted: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = _created_at()


class RateLimitWindow(Base):
    """What one caller (`key`: a user, an API token, a client address) has spent of its rate
    limit in the current window; the row is reused, reset when a new window starts. Charged
    only through the `rate_limit_charge` function (migration 0009), which every server process
    calls, so the budget is shared by all of them."""

    __tablename__ = "rate_limit_windows"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    spent: Mapped[int] = mapped_column(BigInteger, nullable=False)


class OutboxMessage(Base):
    """A message to send (a webhook delivery, an email), written in the transaction of the
    change that caused it and sent by the outbox worker (`server/worker.py`) after it commits:
    a rolled-back change sends nothing and a committed one is never lost. Delivered at least
    once: a worker holds the row locked while it sends, so two never send it at the same time,
    and one killed mid-send leaves it to be sent again."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    """Which sender takes it: `webhook` or `email`."""
    target_id: Mapped[int | None] = mapped_column(BigInteger)
    """The kind's own reference (a webhook's id); the sender checks it still exists."""
    payload: Mapped[dict[str, object]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = _created_at()
    available_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    """When it is due: now, or its next retry."""
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    abandoned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Retries ran out (or its target is gone): no worker takes it again unless asked to."""
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(
            "ix_outbox_messages_due",
            "available_at",
            "id",
            postgresql_where=text("sent_at IS NULL AND abandoned_at IS NULL"),
        ),
        Index("ix_outbox_messages_kind_target_id", "kind", "target_id"),
    )


class Webhook(Base):
    """A workspace's subscription of a URL to event types. `secret` signs each delivery
    (Standard Webhooks); after a rotation `previous_secret` signs too until it expires, so a
    receiver can switch without missing a delivery."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)), nullable=False)
    enabled: Mapped[bool] = mapped_column(nullable=False, server_default=text("true"))
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = _created_at()
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """The first failed attempt of the current run of failures; cleared by a success."""
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """One attempt to deliver one outbox message to a webhook."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False
    )
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    attempted_at: Mapped[datetime] = _created_at()
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    succeeded: Mapped[bool] = mapped_column(nullable=False)
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),)


# The inbox: notifications, each user's preferences, and who follows which issue.


class Notification(Base):
    """One thing a user is told about: `kind` of change to an issue (or by a comment on it),
    made by `actor`. Listed newest first; unread until `read_at`."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[NotificationKind] = mapped_column(
        _pg_enum(NotificationKind, "notification_kind"), nullable=False
    )
    issue_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = _created_at()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # Through the issue's (id, workspace_id): a notification is in its issue's workspace.
        # The index serves the key (an issue's deletion finds its notifications by it).
        ForeignKeyConstraint(
            ["issue_id", "workspace_id"], ["issues.id", "issues.workspace_id"], ondelete="CASCADE"
        ),
        Index("ix_notifications_issue_id_workspace_id", "issue_id", "workspace_id"),
        # A user's inbox, newest first (and the user's foreign key).
        Index("ix_notifications_user_id_id", "user_id", text("id DESC")),
        # Unread counts and `unreadOnly` pages read only the unread entries.
        Index(
            "ix_notifications_user_id_id_unread",
            "user_id",
            "id",
            postgresql_where=text("read_at IS NULL"),
        ),
    )


class NotificationPreference(Base):
    """A user's choice for one kind; without a row the defaults apply (`db.notifications`)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[NotificationKind] = mapped_column(
        _pg_enum(NotificationKind, "notification_kind"), primary_key=True
    )
    in_app: Mapped[bool] = mapped_column(nullable=False)
    email: Mapped[bool] = mapped_column(nullable=False)


class IssueSubscription(Base):
    """A user who follows an issue: told of its state changes and new comments."""

    __tablename__ = "issue_subscriptions"

    issue_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    workspace_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        ForeignKeyConstraint(
            ["issue_id", "workspace_id"], ["issues.id", "issues.workspace_id"], ondelete="CASCADE"
        ),
        # The primary key (issue_id, user_id) leads with the issue: it serves the issue's
        # foreign key and "the subscribers of an issue".
    )
