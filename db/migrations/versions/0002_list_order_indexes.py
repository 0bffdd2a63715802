"""Indexes for the default orders of issue and comment lists.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_issues_workspace_id_created_at_id",
        "issues",
        ["workspace_id", "created_at", "id"],
    )
    op.create_index(
        "ix_issues_project_id_created_at_id", "issues", ["project_id", "created_at", "id"]
    )
    op.create_index(
        "ix_comments_issue_id_created_at_id", "comments", ["issue_id", "created_at", "id"]
    )
    op.drop_index("ix_comments_issue_id_id", table_name="comments")


def downgrade() -> None:
    op.create_index("ix_comments_issue_id_id", "comments", ["issue_id", "id"])
    op.drop_index("ix_comments_issue_id_created_at_id", table_name="comments")
    op.drop_index("ix_issues_project_id_created_at_id", table_name="issues")
    op.drop_index("ix_issues_workspace_id_created_at_id", table_name="issues")
