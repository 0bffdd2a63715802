"""The inbox: notifications, notification preferences, issue subscriptions.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

KINDS = ("ASSIGNED", "MENTIONED", "STATE_CHANGED", "COMMENTED")

PARTICIPANTS_SUBSCRIBE = """
INSERT INTO issue_subscriptions (issue_id, user_id, workspace_id)
SELECT i.id, participant.user_id, i.workspace_id
FROM issues i CROSS JOIN LATERAL (VALUES (i.creator_id), (i.assignee_id)) AS participant(user_id)
WHERE participant.user_id IS NOT NULL
UNION
SELECT c.issue_id, c.author_id, c.workspace_id FROM comments c WHERE c.author_id IS NOT NULL
ON CONFLICT DO NOTHING
"""


def _created_at() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    kind = postgresql.ENUM(*KINDS, name="notification_kind", create_type=False)
    kind.create(op.get_bind())
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", kind, nullable=False),
        sa.Column("issue_id", sa.BigInteger(), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        _created_at(),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_notifications_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id", "workspace_id"],
            ["issues.id", "issues.workspace_id"],
            name=op.f("fk_notifications_issue_id_workspace_id_issues"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("fk_notifications_comment_id_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_notifications_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_user_id_id", "notifications", ["user_id", sa.text("id DESC")])
    op.create_index(
        "ix_notifications_user_id_id_unread",
        "notifications",
        ["user_id", "id"],
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.create_index(
        "ix_notifications_issue_id_workspace_id", "notifications", ["issue_id", "workspace_id"]
    )
    op.create_index("ix_notifications_workspace_id", "notifications", ["workspace_id"])
    op.create_index("ix_notifications_comment_id", "notifications", ["comment_id"])
    op.create_index("ix_notifications_actor_id", "notifications", ["actor_id"])
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", kind, nullable=False),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "issue_subscriptions",
        sa.Column("issue_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_issue_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id", "workspace_id"],
            ["issues.id", "issues.workspace_id"],
            name=op.f("fk_issue_subscriptions_issue_id_workspace_id_issues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("issue_id", "user_id", name=op.f("pk_issue_subscriptions")),
    )
    op.create_index("ix_issue_subscriptions_user_id", "issue_subscriptions", ["user_id"])
    # Issues that exist already get the subscribers they would have had: their creators,
    # assignees and commenters.
    op.execute(PARTICIPANTS_SUBSCRIBE)


def downgrade() -> None:
    op.drop_table("issue_subscriptions")
    op.drop_table("notification_preferences")
    op.drop_table("notifications")
    sa.Enum(name="notification_kind").drop(op.get_bind())
