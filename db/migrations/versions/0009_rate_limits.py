"""Rate limits: what each caller spent in the current window, shared by every server process.

`rate_limit_charge` charges several keys at once (a caller's budget and, for account
operations, its address's), all or none, in one statement: a server process calls it only when
its local lease of a key's budget runs out (`server/rate_limit.py`).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Per key: `need` must fit (spent + need <= limit) for anything to be charged; `extra` (the
# lease a process asks for beyond the request) is granted only if it fits too. Rows are locked
# in key order, so two requests charging the same keys never deadlock; a row whose window has
# ended starts the current one at 0. The window is PostgreSQL's clock, the same for every
# process. Returns every key's row as it is now, with `granted` NULL when the charge was refused.
CHARGE_FUNCTION = """
CREATE FUNCTION rate_limit_charge(
    keys text[], needs bigint[], extras bigint[], limits bigint[], window_seconds integer
) RETURNS TABLE (
    key text, spent bigint, granted bigint, reset_at timestamptz, checked_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    checked timestamptz := clock_timestamp();
    current_window timestamptz := to_timestamp(
        floor(extract(epoch FROM checked) / window_seconds) * window_seconds
    );
    fits boolean;
BEGIN
    INSERT INTO rate_limit_windows AS w (key, window_start, spent)
    SELECT k, current_window, 0 FROM unnest(keys) AS k ORDER BY k
    ON CONFLICT (key) DO UPDATE SET window_start = EXCLUDED.window_start, spent = 0
        WHERE w.window_start < EXCLUDED.window_start;

    SELECT bool_and(w.spent + c.need <= c.lim) INTO fits
    FROM rate_limit_windows AS w
    JOIN unnest(keys, needs, limits) AS c (key, need, lim) ON w.key = c.key;

    IF fits THEN
        RETURN QUERY
        WITH charge AS (
            SELECT w.key,
                   CASE WHEN w.spent + c.need + c.extra <= c.lim THEN c.extra ELSE 0 END AS extra,
                   c.need
            FROM rate_limit_windows AS w
            JOIN unnest(keys, needs, extras, limits) AS c (key, need, extra, lim)
                ON w.key = c.key
        )
        UPDATE rate_limit_windows AS w SET spent = w.spent + charge.need + charge.extra
        FROM charge WHERE w.key = charge.key
        RETURNING w.key::text, w.spent, charge.extra,
                  w.window_start + make_interval(secs => window_seconds), checked;
    ELSE
        RETURN QUERY
        SELECT w.key::text, w.spent, NULL::bigint,
               w.window_start + make_interval(secs => window_seconds), checked
        FROM rate_limit_windows AS w WHERE w.key = ANY (keys);
    END IF;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "rate_limit_windows",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spent", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_windows")),
    )
    op.execute(CHARGE_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION rate_limit_charge(text[], bigint[], bigint[], bigint[], integer)")
    op.drop_table("rate_limit_windows")
