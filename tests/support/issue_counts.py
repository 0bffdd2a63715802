"""The counters of `issue_counts` beside what they count: `count(*)` of the issues, grouped."""

from __future__ import annotations

from typing import Any

DRIFT = """
SELECT workspace_id, state_id, project_id, assignee_id, archived,
       c.count AS counted, i.count AS actual
FROM issue_counts AS c
FULL JOIN (
    SELECT workspace_id, state_id, project_id, coalesce(assignee_id, 0) AS assignee_id,
           archived_at IS NOT NULL AS archived, count(*) AS count
    FROM issues
    GROUP BY 1, 2, 3, 4, 5
) AS i USING (workspace_id, state_id, project_id, assignee_id, archived)
WHERE c.count IS DISTINCT FROM i.count
"""
"""Every key where the counter and the issues disagree: a counter missing, extra or off."""

COUNTERS = (
    "SELECT workspace_id, state_id, project_id, assignee_id, archived, count FROM issue_counts"
)


def as_dict(rows: Any) -> dict[tuple[Any, ...], int]:
    """Counter rows keyed by (workspace, state, project, assignee, archived)."""
    return {tuple(row[:5]): row[5] for row in rows}
