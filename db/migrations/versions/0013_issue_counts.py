"""Issue counts kept by PostgreSQL: `issue_counts` and the triggers on `issues` that keep it.

`issue_counts` holds, per (workspace, state, project, assignee, archived or not), how many issues
there are (see `db.models.IssueCount`); lists and board columns sum its rows instead of counting
issues. Statement-level triggers read each statement's transition tables (every row it inserted,
deleted or changed, cascades included), net the +1/-1 of each row per key, and apply the deltas
in one `INSERT ... ON CONFLICT DO UPDATE` ordered by key: one row lock per key touched whatever
the number of issues, taken in one order by every writer. An UPDATE that moves no issue between
keys (a title, a priority) nets to nothing and writes nothing. Rows whose count falls to 0 are
deleted, so the table holds the combinations that exist (not every one that ever did: a
deleted state, project or user leaves nothing behind).

The backfill runs after the triggers exist, with the table locked against writes (SHARE ROW
EXCLUSIVE, which CREATE TRIGGER takes anyway): a write committed before is counted by the
backfill, one after by the triggers, none by both.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

KEY = "workspace_id, state_id, project_id, assignee_id, archived"


def _keyed(rows: str, delta: str) -> str:
    """The counter key of each row of the transition table `rows`, and its `delta`."""
    return (
        "SELECT workspace_id, state_id, project_id, coalesce(assignee_id, 0) AS assignee_id, "
        f"archived_at IS NOT NULL AS archived, {delta} AS delta FROM {rows}"
    )


def _apply(changes: str) -> str:
    """Adds the netted deltas of `changes` (rows of `_keyed`) to the counters, in key order."""
    return f"""
        INSERT INTO issue_counts AS c ({KEY}, count)
        SELECT {KEY}, sum(delta) FROM ({changes}) AS changes
        GROUP BY {KEY}
        HAVING sum(delta) <> 0
        ORDER BY {KEY}
        ON CONFLICT ({KEY}) DO UPDATE SET count = c.count + excluded.count"""


# Only the keys some old row had can have fallen to 0; all of them are this transaction's (it
# holds their row locks since its upsert), so the DELETE waits for no one. A count below 0 would
# mean a delta was lost (the triggers bypassed): the write fails rather than store it. (A CHECK
# cannot say so: PostgreSQL checks the row an upsert proposes, which holds the delta.)
_DROP_EMPTY = f"""
        WITH dropped AS (
            DELETE FROM issue_counts AS c
            USING (SELECT DISTINCT {KEY} FROM ({_keyed("old_issues", "0")}) AS keys) AS o
            WHERE (c.workspace_id, c.state_id, c.project_id, c.assignee_id, c.archived)
                = (o.workspace_id, o.state_id, o.project_id, o.assignee_id, o.archived)
              AND c.count <= 0
            RETURNING c.count
        )
        SELECT min(count) INTO lowest FROM dropped;
        IF lowest < 0 THEN
            RAISE EXCEPTION 'issue_counts: a count below 0 (%); the counters missed a write', lowest
                USING ERRCODE = 'check_violation';
        END IF"""

APPLY_FUNCTION = f"""
CREATE FUNCTION issue_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
    lowest bigint;
BEGIN
    -- One function for the three triggers; each names only the transition tables it has.
    IF TG_OP = 'INSERT' THEN
        {_apply(_keyed("new_issues", "1"))};
        RETURN NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        {_apply(_keyed("new_issues", "1") + " UNION ALL " + _keyed("old_issues", "-1"))};
    ELSE
        {_apply(_keyed("old_issues", "-1"))};
    END IF;
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed > 0 THEN
        {_DROP_EMPTY};
    END IF;
    RETURN NULL;
END
$$
"""

CLEAR_FUNCTION = """
CREATE FUNCTION issue_counts_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM issue_counts;
    RETURN NULL;
END
$$
"""

TRIGGERS = {
    "issue_counts_insert": "AFTER INSERT ON issues REFERENCING NEW TABLE AS new_issues",
    "issue_counts_update": (
        "AFTER UPDATE ON issues REFERENCING OLD TABLE AS old_issues NEW TABLE AS new_issues"
    ),
    "issue_counts_delete": "AFTER DELETE ON issues REFERENCING OLD TABLE AS old_issues",
}


def upgrade() -> None:
    op.create_table(
        "issue_counts",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("state_id", sa.BigInteger(), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("assignee_id", sa.BigInteger(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id",
            "state_id",
            "project_id",
            "assignee_id",
            "archived",
            name=op.f("pk_issue_counts"),
        ),
    )
    op.execute("LOCK TABLE issues IN SHARE ROW EXCLUSIVE MODE")
    op.execute(APPLY_FUNCTION)
    op.execute(CLEAR_FUNCTION)
    for name, when in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION issue_counts_apply()"
        )
    op.execute(
        "CREATE TRIGGER issue_counts_truncate AFTER TRUNCATE ON issues "
        "FOR EACH STATEMENT EXECUTE FUNCTION issue_counts_clear()"
    )
    op.execute(
        f"INSERT INTO issue_counts ({KEY}, count) "
        f"SELECT {KEY}, count(*) FROM ({_keyed('issues', '1')}) AS keyed GROUP BY {KEY}"
    )


def downgrade() -> None:
    for name in (*TRIGGERS, "issue_counts_truncate"):
        op.execute(f"DROP TRIGGER {name} ON issues")
    op.execute("DROP FUNCTION issue_counts_clear()")
    op.execute("DROP FUNCTION issue_counts_apply()")
    op.drop_table("issue_counts")
