"""What the benchmark sends: each workload as the same operation in every server's dialect.

A workload is Backlog's GraphQL document, PostGraphile's equivalent (bench/postgraphile.py) and
the floor's route (bench/floor.py), all reading the same rows. `WORKLOADS` is the registry the
command line and the matrix read; `COMING` names the workloads that wait for the tracker API, so
`--help` can list them and adding one is a new entry here, not a change elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import text

from bench import postgraphile
from schema.node import to_global_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncEngine

WORKSPACE_SLUG = postgraphile.WORKSPACE_SLUG

LIST_VIEW = """\
query ListView {
  workspace(slug: "acme") {
    issues(first: 50) {
      totalCount
      nodes {
        id identifier title priority
        state { name type }
        assignee { name }
        project { key name }
        labels(first: 10) { nodes { name } }
        comments(first: 5) { totalCount nodes { body author { name } } }
      }
    }
  }
}
"""

DETAIL_VIEW = """\
query DetailView($id: ID!) {
  node(id: $id) {
    ... on Issue {
      id identifier title description priority estimate dueDate createdAt updatedAt
      state { name type }
      assignee { name email }
      creator { name }
      project { key name }
      parent { identifier title }
      labels(first: 20) { nodes { name color } }
      children(first: 50) { totalCount nodes { identifier title state { name } } }
      comments(first: 100) { totalCount nodes { body createdAt author { name } } }
    }
  }
}
"""

# The detail view's issue: one of acme's with a parent and sub-issues, and among those the one
# with the most comments (ties broken by id), so the page exercises every relation it shows.
DETAIL_ISSUE_SQL = text(
    """
    SELECT i.id
    FROM issues i
    JOIN workspaces w ON w.id = i.workspace_id
    WHERE w.slug = :slug
      AND i.archived_at IS NULL
      AND i.parent_id IS NOT NULL
      AND EXISTS (
        SELECT 1 FROM issues c WHERE c.parent_id = i.id AND c.archived_at IS NULL
      )
    ORDER BY (SELECT count(*) FROM comments c WHERE c.issue_id = i.id) DESC, i.id
    LIMIT 1
    """
)


@dataclass(frozen=True)
class Targets:
    """The rows the workloads point at, found in the seeded database."""

    workspace_slug: str
    detail_issue_pk: int

    @property
    def detail_issue_id(self) -> str:
        return str(to_global_id("Issue", self.detail_issue_pk))


async def find_targets(engine: AsyncEngine) -> Targets:
    async with engine.connect() as connection:
        pk = await connection.scalar(DETAIL_ISSUE_SQL, {"slug": WORKSPACE_SLUG})
    if pk is None:
        raise RuntimeError(
            f"no issue of workspace {WORKSPACE_SLUG!r} has both a parent and sub-issues; "
            "is the database seeded with db.seed?"
        )
    return Targets(workspace_slug=WORKSPACE_SLUG, detail_issue_pk=int(pk))


@dataclass(frozen=True)
class Operation:
    """One request, as each server takes it."""

    backlog: dict[str, Any]  # the /graphql body
    postgraphile: dict[str, Any]  # the /graphql body
    floor_path: str  # the floor's route...
    floor: dict[str, Any]  # ...and its body


@dataclass(frozen=True)
class Workload:
    name: str
    help: str
    # (weight, operation) pairs: run_wrk mixes weighted bodies, which `mixed` will need.
    operations: Callable[[Targets], list[tuple[float, Operation]]]
    # The sizes of a response, to check that two servers answered with the same rows.
    summarize_backlog: Callable[[dict[str, Any]], dict[str, int]]
    summarize_postgraphile: Callable[[dict[str, Any]], dict[str, int]]


def encode(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body)


# -- list -----------------------------------------------------------------------------------


def _list_operations(targets: Targets) -> list[tuple[float, Operation]]:
    operation = Operation(
        backlog={"query": LIST_VIEW, "operationName": "ListView"},
        postgraphile={
            "query": postgraphile.LIST_VIEW,
            "variables": postgraphile.variables(postgraphile.LIST, targets.detail_issue_pk),
            "operationName": "ListView",
        },
        floor_path="/list",
        floor={"variables": {"slug": targets.workspace_slug, "first": 50}},
    )
    return [(1.0, operation)]


def _summarize_list_backlog(body: dict[str, Any]) -> dict[str, int]:
    issues = body["data"]["workspace"]["issues"]
    nodes = issues["nodes"]
    return {
        "issues": len(nodes),
        "issues_total": issues["totalCount"],
        "labels": sum(len(n["labels"]["nodes"]) for n in nodes),
        "comments": sum(len(n["comments"]["nodes"]) for n in nodes),
        "comments_total": sum(n["comments"]["totalCount"] for n in nodes),
    }


def _summarize_list_postgraphile(body: dict[str, Any]) -> dict[str, int]:
    issues = body["data"]["workspaceBySlug"]["issuesByWorkspaceId"]
    nodes = issues["nodes"]
    return {
        "issues": len(nodes),
        "issues_total": issues["totalCount"],
        "labels": sum(len(n["issueLabelsByIssueIdAndWorkspaceIdList"]) for n in nodes),
        "comments": sum(len(n["commentsByIssueIdAndWorkspaceId"]["nodes"]) for n in nodes),
        "comments_total": sum(n["commentsByIssueIdAndWorkspaceId"]["totalCount"] for n in nodes),
    }


# -- detail ---------------------------------------------------------------------------------


def _detail_operations(targets: Targets) -> list[tuple[float, Operation]]:
    operation = Operation(
        backlog={
            "query": DETAIL_VIEW,
            "variables": {"id": targets.detail_issue_id},
            "operationName": "DetailView",
        },
        postgraphile={
            "query": postgraphile.DETAIL_VIEW,
            "variables": postgraphile.variables(postgraphile.DETAIL, targets.detail_issue_pk),
            "operationName": "DetailView",
        },
        floor_path="/detail",
        floor={"variables": {"id": targets.detail_issue_id}},
    )
    return [(1.0, operation)]


def _summarize_detail_backlog(body: dict[str, Any]) -> dict[str, int]:
    issue = body["data"]["node"]
    return {
        "issues": 1,
        "has_parent": int(issue["parent"] is not None),
        "labels": len(issue["labels"]["nodes"]),
        "children": len(issue["children"]["nodes"]),
        "children_total": issue["children"]["totalCount"],
        "comments": len(issue["comments"]["nodes"]),
        "comments_total": issue["comments"]["totalCount"],
    }


def _summarize_detail_postgraphile(body: dict[str, Any]) -> dict[str, int]:
    issue = body["data"]["issueById"]
    children = issue["issuesByParentIdAndWorkspaceId"]
    comments = issue["commentsByIssueIdAndWorkspaceId"]
    return {
        "issues": 1,
        "has_parent": int(issue["issueByParentIdAndWorkspaceId"] is not None),
        "labels": len(issue["issueLabelsByIssueIdAndWorkspaceIdList"]),
        "children": len(children["nodes"]),
        "children_total": children["totalCount"],
        "comments": len(comments["nodes"]),
        "comments_total": comments["totalCount"],
    }


# -- the registry ---------------------------------------------------------------------------

WORKLOADS: dict[str, Workload] = {
    "list": Workload(
        name="list",
        help="the list view: 50 issues of acme with state, assignee, project, labels and "
        "their top 5 comments with authors",
        operations=_list_operations,
        summarize_backlog=_summarize_list_backlog,
        summarize_postgraphile=_summarize_list_postgraphile,
    ),
    "detail": Workload(
        name="detail",
        help="the detail view of one issue by node ID: parent, labels, 50 sub-issues, 100 "
        "comments with authors",
        operations=_detail_operations,
        summarize_backlog=_summarize_detail_backlog,
        summarize_postgraphile=_summarize_detail_postgraphile,
    ),
}

# Added to WORKLOADS once the API has what they need (the floor and PostGraphile get theirs too).
COMING: dict[str, str] = {
    "board": "issues of a project grouped by workflow state",
    "search": "issues matching a text query",
    "issueCreate": "the issueCreate mutation",
    "issueUpdate": "the issueUpdate mutation",
    "mixed": "90% reads / 10% writes, via weighted bodies of one wrk run",
}

DEFAULT_WORKLOADS = ("list", "detail")


# -- checking answers -----------------------------------------------------------------------


class CheckError(Exception):
    """An answer is not what the workload asks for: measuring that server would mislead."""


def single_operation(name: str, targets: Targets) -> Operation:
    operations = WORKLOADS[name].operations(targets)
    if len(operations) != 1:
        raise CheckError(f"{name}: checking the answers of mixed workloads is not supported yet")
    return operations[0][1]


def check_answer(who: str, workload: str, status: int, body: Any) -> dict[str, Any]:
    """`body` if it is an HTTP 200 with data and without errors; else CheckError showing it."""
    data = body.get("data") if isinstance(body, dict) else None
    top = next(iter(data.values()), None) if isinstance(data, dict) and data else None
    if status != 200 or not isinstance(body, dict) or "errors" in body or top is None:
        shown = orjson.dumps(body).decode()[:3000] if isinstance(body, dict) else repr(body)
        raise CheckError(f"{who} answered {workload} with HTTP {status} and no data:\n{shown}")
    return body


def check_same_rows(
    who: str, workload: str, summary: dict[str, int], backlog: dict[str, int]
) -> None:
    if summary != backlog:
        raise CheckError(
            f"{who} answered {workload} with other rows than Backlog: {summary} != {backlog}"
        )
