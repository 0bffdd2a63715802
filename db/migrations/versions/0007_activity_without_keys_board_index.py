"""The activity log without foreign keys, and an index for the board's columns.

Activity entries keep plain workspace and actor ids: checking a foreign key takes a lock on the
referenced row while the stream's ordering lock is held, so one workspace's deletion (which
holds its row) stalled every workspace's writes. `workspaceDelete` deletes the entries itself.

The board pages each state's newest issues: `(state_id, created_at, id)` lets each column read
its page from the index instead of sorting the state's issues; it also serves the state's
foreign key, so it replaces `(state_id, workspace_id)`.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("fk_activity_actor_id_users", "activity", type_="foreignkey")
    op.drop_constraint("fk_activity_workspace_id_workspaces", "activity", type_="foreignkey")
    op.drop_index("ix_activity_actor_id", table_name="activity")
    op.create_index("ix_issues_state_id_created_at_id", "issues", ["state_id", "created_at", "id"])
    op.drop_index("ix_issues_state_id_workspace_id", table_name="issues")


def downgrade() -> None:
    op.create_index("ix_issues_state_id_workspace_id", "issues", ["state_id", "workspace_id"])
    op.drop_index("ix_issues_state_id_created_at_id", table_name="issues")
    # Entries of workspaces or actors deleted meanwhile would violate the keys: drop them first.
    op.execute("DELETE FROM activity WHERE workspace_id NOT IN (SELECT id FROM workspaces)")
    op.execute("UPDATE activity SET actor_id = NULL WHERE actor_id NOT IN (SELECT id FROM users)")
    op.create_index("ix_activity_actor_id", "activity", ["actor_id"])
    op.create_foreign_key(
        "fk_activity_workspace_id_workspaces",
        "activity",
        "workspaces",
        ["workspace_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_activity_actor_id_users", "activity", "users", ["actor_id"], ["id"], ondelete="SET NULL"
    )
