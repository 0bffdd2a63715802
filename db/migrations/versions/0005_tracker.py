"""The tracker's API: manual issue order, label order, full-text search, the activity log and
idempotency keys.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Copied, not imported: a migration must keep meaning what it meant when it was written.
NEW_POSITION = "extract(epoch from clock_timestamp())"
ISSUE_SEARCH_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, title), 'A') || "
    "setweight(to_tsvector('english'::regconfig, description), 'B')"
)
COMMENT_SEARCH_VECTOR = "to_tsvector('english'::regconfig, body)"


def upgrade() -> None:
    op.add_column(
        "issues",
        sa.Column("position", sa.Float(), server_default=sa.text(NEW_POSITION), nullable=False),
    )
    # Existing issues keep their creation order, ahead of the ones created from now on.
    op.execute("UPDATE issues SET position = id")
    op.add_column(
        "issues",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(ISSUE_SEARCH_VECTOR, persisted=True),
            nullable=True,
        ),
    )
    op.create_index("ix_issues_search_vector", "issues", ["search_vector"], postgresql_using="gin")
    op.add_column(
        "comments",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(COMMENT_SEARCH_VECTOR, persisted=True),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_comments_search_vector", "comments", ["search_vector"], postgresql_using="gin"
    )

    op.add_column("labels", sa.Column("position", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        """
        UPDATE labels SET position = ranked.position
        FROM (
            SELECT id, row_number() OVER (PARTITION BY workspace_id ORDER BY name, id) - 1
                AS position
            FROM labels
        ) AS ranked
        WHERE ranked.id = labels.id
        """
    )

    op.create_table(
        "activity",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("issue_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("from_value", sa.Text(), nullable=True),
        sa.Column("to_value", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name="fk_activity_actor_id_users", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_activity_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_activity"),
    )
    op.create_index("ix_activity_actor_id", "activity", ["actor_id"])
    op.create_index("ix_activity_workspace_id_id", "activity", ["workspace_id", "id"])
    op.create_index("ix_activity_issue_id_id", "activity", ["issue_id", "id"])

    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("result", postgresql.JSONB(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_idempotency_keys_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("activity")
    op.drop_column("labels", "position")
    op.drop_index("ix_comments_search_vector", table_name="comments")
    op.drop_column("comments", "search_vector")
    op.drop_index("ix_issues_search_vector", table_name="issues")
    op.drop_column("issues", "search_vector")
    op.drop_column("issues", "position")
