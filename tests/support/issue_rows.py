"""Acme's issues read with plain SQL: the independent reading the filter and ordering tests
compute their expectations from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.actors import OWNER
from tests.support.factories import ACME_PK

PRIORITIES = ["URGENT", "HIGH", "MEDIUM", "LOW", "NONE"]

ISSUES = """
query Issues(
  $filter: IssueFilter, $orderBy: [IssueOrder!],
  $first: Int, $after: String, $last: Int, $before: String
) {
  workspace(slug: "acme") {
    issues(
      filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last,
      before: $before
    ) {
      totalCount
      nodes { identifier }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""


@dataclass(frozen=True)
class IssueRow:
    id: int
    identifier: str
    number: int
    title: str
    priority: str
    estimate: int | None
    due_date: date | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    position: float
    state_id: int
    state_type: str
    state_name: str
    assignee_id: int | None
    creator_id: int | None
    project_id: int
    parent_id: int | None
    label_ids: frozenset[int]
    label_names: frozenset[str]


SNAPSHOT = text(
    f"""
    SELECT i.id, p.key || '-' || i.number AS identifier, i.number, i.title,
           i.priority::text AS priority, i.estimate, i.due_date, i.created_at, i.updated_at,
           i.archived_at, i.position, i.state_id, s.type::text AS state_type,
           s.name AS state_name, i.assignee_id, i.creator_id, i.project_id, i.parent_id,
           array(SELECT il.label_id FROM issue_labels il WHERE il.issue_id = i.id) AS label_ids,
           array(SELECT l.name FROM issue_labels il JOIN labels l ON l.id = il.label_id
                 WHERE il.issue_id = i.id) AS label_names
    FROM issues i JOIN projects p ON p.id = i.project_id
    JOIN workflow_states s ON s.id = i.state_id
    WHERE i.workspace_id = {ACME_PK}
    """
)


async def snapshot(connection: Any) -> list[IssueRow]:
    rows = (await connection.execute(SNAPSHOT)).mappings()
    return [
        IssueRow(
            **{
                **row,
                "label_ids": frozenset(row["label_ids"]),
                "label_names": frozenset(row["label_names"]),
            }
        )
        for row in rows
    ]


async def everything(gql: Any, filter: Any, order_by: Any = None) -> tuple[int, list[str]]:
    """The total and every identifier of the filtered list, walked with `first: 100`."""
    identifiers: list[str] = []
    after = None
    while True:
        body = await gql(
            ISSUES, {"filter": filter, "orderBy": order_by, "first": 100, "after": after}
        )
        assert "errors" not in body, body["errors"]
        issues = body["data"]["workspace"]["issues"]
        identifiers += [node["identifier"] for node in issues["nodes"]]
        if not issues["pageInfo"]["hasNextPage"]:
            return issues["totalCount"], identifiers
        after = issues["pageInfo"]["endCursor"]


def rank(priority: str) -> int:
    return PRIORITIES.index(priority)


def iso(value: date | datetime) -> str:
    return value.isoformat()


def live(row: IssueRow) -> bool:
    return row.archived_at is None


async def user_pk(connection: AsyncConnection, email: str = OWNER) -> int:
    """The primary key of the user with this email (by default the demo owner, `me`)."""
    found = await connection.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": email})
    assert found is not None, email
    return int(found)
