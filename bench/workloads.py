"""What the benchmark sends: each workload as weighted operations in every server's dialect.

An operation is one request: a Backlog GraphQL document (a `Document`: list, detail, board,
search, issueCreate, issueUpdate) with its variables, and where a peer has the equivalent,
PostGraphile 4's and 5's documents (bench/postgraphile.py, bench/postgraphile5.py) and the
floor's route (bench/floor.py), all reading the same rows. A workload is `(weight, operation)`
pairs that one wrk run mixes: `mixed` is the other workloads' operations, 90% reads and 10%
writes. `WORKLOADS` is the registry the command line and the matrix read.

Where a peer has no equivalent, the workload names it in `Workload.not_for` with the reason,
and the report says "n/a" rather than compare different work: PostGraphile (4 and 5) has no
full-text search, runs with its generated mutations off (and they could not number an issue
within its project atomically, nor append the activity log, as Backlog's do), and so has no
`mixed` either; the floor has the read routes only, since a write's SQL lives in its use case
(resolvers/issues.py) and a hand copy of it would drift from what Backlog sends.

Writes. Each issueUpdate operation edits another of 100 issues of acme (a fixed body would
queue every request on one row's lock) and changes its title for sure (`@SEQ@`, filled per
request by bench/load.py), a third of them its priority too and a third its state (picked per
request with `@SEQ:...@`). issueCreate creates an issue per request in globex's project with an
assignee and a label: in globex, so that `mixed` does not push acme's newest issues, the rows
its list and board views read, off their pages during the run. Creates in one project queue on
its row, which they lock to take the next number and hold until commit: the report's `row
locks` column shows that price of gap-free numbering (issueUpdate's shows the wait for acme's
activity stream lock instead, under `stream lock`: writes to one workspace append one after
another). `writes-spread` is issueUpdate over issues of both of the seed's workspaces, half
acme's and half globex's: two streams whose writes do not wait for each other, to show write
throughput growing with worker processes (run it with `--workers 1,2`). Writes change the
shared database; bench/baseline.py puts it back after every run that wrote (see there), so
every run, read or write, starts from the seeded rows whatever ran before it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import text

from bench import postgraphile, postgraphile5
from core.ids import to_global_id

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

WORKSPACE_SLUG = postgraphile.WORKSPACE_SLUG
# Where issueCreate creates (see the module's docstring); the demo user is a MEMBER there.
CREATE_WORKSPACE_SLUG = "globex"
UPDATED_ISSUES = 100
# writes-spread's issues in each workspace: acme's first ones of `updated_issues`, and globex's.
SPREAD_ISSUES = UPDATED_ISSUES // 2
SEARCH_QUERY = "webhook timeout"  # two of the seed's words: ~170 of acme's issues match both
PRIORITIES = ("URGENT", "HIGH", "MEDIUM", "LOW", "NONE")
MAX_TITLE = 255

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

# A board: every workflow state of acme, in board order, with its count and its 20 newest
# issues as cards (identifier, title, priority, assignee, labels).
BOARD_VIEW = """\
query BoardView {
  workspace(slug: "acme") {
    issueGroups(by: STATE, first: 20) {
      state { name type }
      totalCount
      issues {
        nodes {
          id identifier title priority
          assignee { name }
          labels(first: 5) { nodes { name color } }
        }
      }
    }
  }
}
"""

SEARCH_VIEW = """\
query SearchView($query: String!) {
  workspace(slug: "acme") {
    search(query: $query, first: 20) {
      totalCount
      nodes {
        rank snippet
        issue { id identifier title state { name } }
      }
    }
  }
}
"""

ISSUE_CREATE = """\
mutation IssueCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) {
    issue {
      id identifier title priority createdAt
      state { name }
      assignee { name }
      labels(first: 5) { nodes { name } }
    }
    errors { code field message }
  }
}
"""

ISSUE_UPDATE = """\
mutation IssueUpdate($input: IssueUpdateInput!) {
  issueUpdate(input: $input) {
    issue { id identifier title priority version updatedAt state { name } }
    errors { code field message }
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

# issueUpdate's issues: acme's oldest live ones, far from the list's and the board's pages
# (newest first), and none the detail view shows (its issue, its parent, its sub-issues).
UPDATED_ISSUES_SQL = text(
    """
    SELECT i.id, i.title
    FROM issues i
    JOIN workspaces w ON w.id = i.workspace_id
    WHERE w.slug = :slug
      AND i.archived_at IS NULL
      AND i.id <> :detail
      AND i.id IS DISTINCT FROM (SELECT parent_id FROM issues WHERE id = :detail)
      AND i.parent_id IS DISTINCT FROM :detail
    ORDER BY i.id
    LIMIT :count
    """
)

STATES_SQL = text(
    """
    SELECT s.id FROM workflow_states s JOIN workspaces w ON w.id = s.workspace_id
    WHERE w.slug = :slug ORDER BY s.position, s.id
    """
)

# issueCreate's project, assignee (the demo user, who runs every request) and label.
CREATE_TARGETS_SQL = text(
    """
    SELECT
      (SELECT p.id FROM projects p WHERE p.workspace_id = w.id AND p.archived_at IS NULL
       ORDER BY p.id LIMIT 1) AS project_id,
      (SELECT l.id FROM labels l WHERE l.workspace_id = w.id ORDER BY l.id LIMIT 1) AS label_id,
      (SELECT u.id FROM users u JOIN memberships m ON m.user_id = u.id
       WHERE m.workspace_id = w.id AND u.email = :email) AS user_id
    FROM workspaces w WHERE w.slug = :slug
    """
)


@dataclass(frozen=True)
class Targets:
    """The rows the workloads point at, found in the seeded database."""

    workspace_slug: str
    detail_issue_pk: int
    updated_issues: tuple[tuple[int, str], ...] = ()  # (id, title as seeded)
    state_pks: tuple[int, ...] = ()  # acme's workflow states, in board order
    create_project_pk: int = 0
    create_label_pk: int = 0
    create_assignee_pk: int = 0
    spread_issues: tuple[tuple[int, str], ...] = ()  # globex's, (id, title as seeded)

    @property
    def detail_issue_id(self) -> str:
        return str(to_global_id("Issue", self.detail_issue_pk))


async def find_targets(engine: AsyncEngine, viewer_email: str) -> Targets:
    async with engine.connect() as connection:
        pk = await connection.scalar(DETAIL_ISSUE_SQL, {"slug": WORKSPACE_SLUG})
        if pk is None:
            raise RuntimeError(
                f"no issue of workspace {WORKSPACE_SLUG!r} has both a parent and sub-issues; "
                "is the database seeded with server.seed?"
            )
        updated = (
            await connection.execute(
                UPDATED_ISSUES_SQL,
                {"slug": WORKSPACE_SLUG, "detail": int(pk), "count": UPDATED_ISSUES},
            )
        ).all()
        states = (await connection.execute(STATES_SQL, {"slug": WORKSPACE_SLUG})).scalars().all()
        spread = (
            await connection.execute(
                UPDATED_ISSUES_SQL,
                {"slug": CREATE_WORKSPACE_SLUG, "detail": int(pk), "count": SPREAD_ISSUES},
            )
        ).all()
        create = (
            await connection.execute(
                CREATE_TARGETS_SQL, {"slug": CREATE_WORKSPACE_SLUG, "email": viewer_email}
            )
        ).first()
    if create is None or None in (create.project_id, create.label_id, create.user_id):
        raise RuntimeError(
            f"workspace {CREATE_WORKSPACE_SLUG!r} needs a live project, a label and "
            f"{viewer_email} as a member; is the database seeded with server.seed?"
        )
    if len(updated) < UPDATED_ISSUES or len(states) < 2:
        raise RuntimeError(f"workspace {WORKSPACE_SLUG!r} has too few issues or states")
    if len(spread) < SPREAD_ISSUES:
        raise RuntimeError(f"workspace {CREATE_WORKSPACE_SLUG!r} has too few issues")
    return Targets(
        workspace_slug=WORKSPACE_SLUG,
        detail_issue_pk=int(pk),
        updated_issues=tuple((int(row.id), str(row.title)) for row in updated),
        state_pks=tuple(int(state) for state in states),
        create_project_pk=int(create.project_id),
        create_label_pk=int(create.label_id),
        create_assignee_pk=int(create.user_id),
        spread_issues=tuple((int(row.id), str(row.title)) for row in spread),
    )


# -- documents and operations ---------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One of Backlog's GraphQL documents, and how to read its answers."""

    name: str
    writes: bool
    # The sizes of a response, to check that two servers answered with the same rows; a
    # write's is the same whatever issue it created or changed.
    summarize_backlog: Callable[[dict[str, Any]], dict[str, int]]
    summarize_postgraphile: Callable[[dict[str, Any]], dict[str, int]] | None = None
    summarize_postgraphile5: Callable[[dict[str, Any]], dict[str, int]] | None = None

    def summarize_peer(self, peer: str) -> Callable[[dict[str, Any]], dict[str, int]] | None:
        """The summary of PostGraphile `peer`'s answer (a name in PEERS)."""
        return {
            "postgraphile": self.summarize_postgraphile,
            "postgraphile5": self.summarize_postgraphile5,
        }[peer]


# The PostGraphile servers, by their names in bench/servers.py: version 4 and version 5.
PEERS = ("postgraphile", "postgraphile5")


@dataclass(frozen=True)
class Operation:
    """One request, as each server takes it; None where a peer has no equivalent."""

    document: str  # its name in DOCUMENTS
    backlog: dict[str, Any]  # the /graphql body
    postgraphile: dict[str, Any] | None = None  # the /graphql body, PostGraphile 4's...
    postgraphile5: dict[str, Any] | None = None  # ...and 5's
    floor_path: str | None = None  # the floor's route...
    floor: dict[str, Any] | None = None  # ...and its body

    def peer(self, peer: str) -> dict[str, Any] | None:
        """The /graphql body for PostGraphile `peer` (a name in PEERS)."""
        return {"postgraphile": self.postgraphile, "postgraphile5": self.postgraphile5}[peer]


def _peer_bodies(name: str, workload: str, targets: Targets) -> dict[str, dict[str, Any]]:
    """`workload`'s bodies for PostGraphile 4 and 5 as Operation's keyword arguments."""
    return {
        "postgraphile": {
            "query": postgraphile.DOCUMENTS[workload],
            "variables": postgraphile.variables(workload, targets.detail_issue_pk),
            "operationName": name,
        },
        "postgraphile5": {
            "query": postgraphile5.DOCUMENTS[workload],
            "variables": postgraphile5.variables(workload, targets.detail_issue_pk),
            "operationName": name,
        },
    }


def _backlog_body(query: str, name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Backlog's /graphql body: `query`, whose operation is `name`, with `variables` unless the
    document's defaults serve."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    body["operationName"] = name
    return body


def _view_operations(
    view: str,
    query: str,
    name: str,
    targets: Targets,
    variables: dict[str, Any] | None = None,
    *,
    floor: dict[str, Any],
) -> list[tuple[float, Operation]]:
    """A read view's one operation: Backlog's `query` (see _backlog_body), the PostGraphiles'
    document of the view, and the floor's route with `floor` as its variables. `view` names it
    in DOCUMENTS, in the PostGraphiles' DOCUMENTS and in the floor's routes alike."""
    operation = Operation(
        document=view,
        backlog=_backlog_body(query, name, variables),
        **_peer_bodies(name, view, targets),
        floor_path=f"/{view}",
        floor={"variables": floor},
    )
    return [(1.0, operation)]


@dataclass(frozen=True)
class Workload:
    name: str
    help: str
    # (weight, operation) pairs: run_wrk mixes weighted bodies (mixed, issueUpdate's issues).
    operations: Callable[[Targets], list[tuple[float, Operation]]]
    # Servers that have no equivalent, with the reason the report gives for its "n/a".
    not_for: dict[str, str] = field(default_factory=dict)

    def runs_on(self, server: str) -> bool:
        return server not in self.not_for


def encode(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body)


# -- list -----------------------------------------------------------------------------------


def _list_operations(targets: Targets) -> list[tuple[float, Operation]]:
    floor = {"slug": targets.workspace_slug, "first": 50}
    return _view_operations("list", LIST_VIEW, "ListView", targets, floor=floor)


def _counted(connection: dict[str, Any], name: str) -> dict[str, int]:
    """How many of `name` a connection holds, and how many there are (its totalCount)."""
    return {name: len(connection["nodes"]), f"{name}_total": connection["totalCount"]}


def _summarize_list_backlog(body: dict[str, Any]) -> dict[str, int]:
    issues = body["data"]["workspace"]["issues"]
    nodes = issues["nodes"]
    return {
        **_counted(issues, "issues"),
        "labels": sum(len(n["labels"]["nodes"]) for n in nodes),
        "comments": sum(len(n["comments"]["nodes"]) for n in nodes),
        "comments_total": sum(n["comments"]["totalCount"] for n in nodes),
    }


# PostGraphile 4's labels are a plain list (`--simple-collections both`), 5's a connection:
# otherwise the two answer in the same shape, and one summary reads both.
def _labels_v4(issue: dict[str, Any]) -> list[Any]:
    labels: list[Any] = issue["issueLabelsByIssueIdAndWorkspaceIdList"]
    return labels


def _labels_v5(issue: dict[str, Any]) -> list[Any]:
    labels: list[Any] = issue["issueLabelsByIssueIdAndWorkspaceId"]["nodes"]
    return labels


Labels = Callable[[dict[str, Any]], list[Any]]


def _summarize_list_postgraphile(
    body: dict[str, Any], labels: Labels = _labels_v4
) -> dict[str, int]:
    issues = body["data"]["workspaceBySlug"]["issuesByWorkspaceId"]
    nodes = issues["nodes"]
    return {
        **_counted(issues, "issues"),
        "labels": sum(len(labels(n)) for n in nodes),
        "comments": sum(len(n["commentsByIssueIdAndWorkspaceId"]["nodes"]) for n in nodes),
        "comments_total": sum(n["commentsByIssueIdAndWorkspaceId"]["totalCount"] for n in nodes),
    }


def _summarize_list_postgraphile5(body: dict[str, Any]) -> dict[str, int]:
    return _summarize_list_postgraphile(body, _labels_v5)


# -- detail ---------------------------------------------------------------------------------


def _detail_operations(targets: Targets) -> list[tuple[float, Operation]]:
    variables = {"id": targets.detail_issue_id}
    return _view_operations(
        "detail", DETAIL_VIEW, "DetailView", targets, variables, floor=variables
    )


def _summarize_detail_backlog(body: dict[str, Any]) -> dict[str, int]:
    issue = body["data"]["node"]
    return {
        "issues": 1,
        "has_parent": int(issue["parent"] is not None),
        "labels": len(issue["labels"]["nodes"]),
        **_counted(issue["children"], "children"),
        **_counted(issue["comments"], "comments"),
    }


def _summarize_detail_postgraphile(
    body: dict[str, Any], root: str = "issueById", labels: Labels = _labels_v4
) -> dict[str, int]:
    issue = body["data"][root]
    return {
        "issues": 1,
        "has_parent": int(issue["issueByParentIdAndWorkspaceId"] is not None),
        "labels": len(labels(issue)),
        **_counted(issue["issuesByParentIdAndWorkspaceId"], "children"),
        **_counted(issue["commentsByIssueIdAndWorkspaceId"], "comments"),
    }


def _summarize_detail_postgraphile5(body: dict[str, Any]) -> dict[str, int]:
    return _summarize_detail_postgraphile(body, "issueByRowId", _labels_v5)


# -- board ----------------------------------------------------------------------------------


def _board_operations(targets: Targets) -> list[tuple[float, Operation]]:
    floor = {"slug": targets.workspace_slug, "first": 20}
    return _view_operations("board", BOARD_VIEW, "BoardView", targets, floor=floor)


def _board_summary(
    groups: list[tuple[int, list[dict[str, Any]]]],
    labels: Callable[[dict[str, Any]], list[Any]],
    assignee: str,
) -> dict[str, int]:
    """`groups`: (count, cards) per state."""
    cards = [card for _, cards in groups for card in cards]
    return {
        "groups": len(groups),
        "issues": len(cards),
        "issues_total": sum(total for total, _ in groups),
        "labels": sum(len(labels(card)) for card in cards),
        "assigned": sum(card[assignee] is not None for card in cards),
    }


def _summarize_board_backlog(body: dict[str, Any]) -> dict[str, int]:
    groups = body["data"]["workspace"]["issueGroups"]
    return _board_summary(
        [(group["totalCount"], group["issues"]["nodes"]) for group in groups],
        lambda card: card["labels"]["nodes"],
        "assignee",
    )


def _summarize_board_postgraphile(body: dict[str, Any]) -> dict[str, int]:
    states = body["data"]["workspaceBySlug"]["workflowStatesByWorkspaceIdList"]
    return _summarize_board_states(states, _labels_v4)


def _summarize_board_postgraphile5(body: dict[str, Any]) -> dict[str, int]:
    states = body["data"]["workspaceBySlug"]["workflowStatesByWorkspaceId"]["nodes"]
    return _summarize_board_states(states, _labels_v5)


def _summarize_board_states(states: list[dict[str, Any]], labels: Labels) -> dict[str, int]:
    groups = [state["issuesByStateIdAndWorkspaceId"] for state in states]
    return _board_summary(
        [(group["totalCount"], group["nodes"]) for group in groups], labels, "userByAssigneeId"
    )


# -- search ---------------------------------------------------------------------------------


def _search_operations(targets: Targets) -> list[tuple[float, Operation]]:
    variables = {"query": SEARCH_QUERY}
    operation = Operation(
        document="search",
        backlog=_backlog_body(SEARCH_VIEW, "SearchView", variables),
        floor_path="/search",
        floor={"variables": {"slug": targets.workspace_slug, "first": 20, **variables}},
    )
    return [(1.0, operation)]


def _summarize_search_backlog(body: dict[str, Any]) -> dict[str, int]:
    search = body["data"]["workspace"]["search"]
    return {
        **_counted(search, "results"),
        "snippets": sum(node["snippet"] is not None for node in search["nodes"]),
    }


# -- writes ---------------------------------------------------------------------------------


def _create_operations(targets: Targets) -> list[tuple[float, Operation]]:
    issue_input = {
        "projectId": to_global_id("Project", targets.create_project_pk),
        "title": "Benchmark issue @SEQ@",
        "description": "Created by the benchmark's issueCreate workload.",
        "priority": "MEDIUM",
        "assigneeId": to_global_id("User", targets.create_assignee_pk),
        "labelIds": [to_global_id("Label", targets.create_label_pk)],
    }
    operation = Operation(
        document="issueCreate",
        backlog=_backlog_body(ISSUE_CREATE, "IssueCreate", {"input": issue_input}),
    )
    return [(1.0, operation)]


def _update_operations(targets: Targets) -> list[tuple[float, Operation]]:
    """One body per issue; each request changes its title. Of every three bodies, one also sets
    the priority and one the state, picked per request (so they change most times, not all)."""
    return _issue_updates(targets.updated_issues, targets.state_pks)


def _spread_operations(targets: Targets) -> list[tuple[float, Operation]]:
    """issueUpdate's bodies over acme's and globex's issues, alternately; one body in three sets
    the priority too (a state belongs to one workspace: none is set)."""
    acme = _issue_updates(targets.updated_issues[:SPREAD_ISSUES], ())
    globex = _issue_updates(targets.spread_issues, ())
    return [operation for pair in zip(acme, globex, strict=True) for operation in pair]


def _issue_updates(
    issues: tuple[tuple[int, str], ...], state_pks: tuple[int, ...]
) -> list[tuple[float, Operation]]:
    states = "|".join(to_global_id("WorkflowState", pk) for pk in state_pks)
    operations = []
    for index, (pk, title) in enumerate(issues):
        suffix = " #@SEQ@"
        issue_input: dict[str, Any] = {
            "id": to_global_id("Issue", pk),
            # The seeded words stay, so search ranks the issue as before.
            "title": title[: MAX_TITLE - 20] + suffix,
        }
        if index % 3 == 1:
            issue_input["priority"] = f"@SEQ:{'|'.join(PRIORITIES)}@"
        elif index % 3 == 2 and states:
            issue_input["stateId"] = f"@SEQ:{states}@"
        operation = Operation(
            document="issueUpdate",
            backlog=_backlog_body(ISSUE_UPDATE, "IssueUpdate", {"input": issue_input}),
        )
        operations.append((1.0, operation))
    return operations


def _summarize_payload(field_name: str) -> Callable[[dict[str, Any]], dict[str, int]]:
    def summarize(body: dict[str, Any]) -> dict[str, int]:
        payload = body["data"][field_name]
        return {"issues": int(payload["issue"] is not None), "user_errors": len(payload["errors"])}

    return summarize


# -- mixed ----------------------------------------------------------------------------------

# Shares of one mixed run's requests: 90% reads, 10% writes (most writes edit an issue).
MIXED = (
    ("list", 25.0),
    ("detail", 25.0),
    ("board", 20.0),
    ("search", 20.0),
    ("issueUpdate", 7.0),
    ("issueCreate", 3.0),
)


def _mixed_operations(targets: Targets) -> list[tuple[float, Operation]]:
    mixed = []
    for name, share in MIXED:
        parts = WORKLOADS[name].operations(targets)
        total = sum(weight for weight, _ in parts)
        mixed += [(share * weight / total, operation) for weight, operation in parts]
    return mixed


# -- the registries -------------------------------------------------------------------------

DOCUMENTS: dict[str, Document] = {
    document.name: document
    for document in (
        Document(
            "list",
            False,
            _summarize_list_backlog,
            _summarize_list_postgraphile,
            _summarize_list_postgraphile5,
        ),
        Document(
            "detail",
            False,
            _summarize_detail_backlog,
            _summarize_detail_postgraphile,
            _summarize_detail_postgraphile5,
        ),
        Document(
            "board",
            False,
            _summarize_board_backlog,
            _summarize_board_postgraphile,
            _summarize_board_postgraphile5,
        ),
        Document("search", False, _summarize_search_backlog),
        Document("issueCreate", True, _summarize_payload("issueCreate")),
        Document("issueUpdate", True, _summarize_payload("issueUpdate")),
    )
}

# The report's "n/a" reasons; the module's docstring has the long form.
NO_SEARCH = "PostGraphile has no full-text search"
NO_MUTATIONS = "PostGraphile's generated mutations (off) cannot number issues or log activity"
NO_MIXED = "PostGraphile has neither search nor Backlog's writes"
NO_FLOOR_WRITES = "the floor has read routes only (a hand copy of a write's SQL would drift)"

WORKLOADS: dict[str, Workload] = {
    workload.name: workload
    for workload in (
        Workload(
            "list",
            "the list view: 50 issues of acme with state, assignee, project, labels and "
            "their top 5 comments with authors",
            _list_operations,
        ),
        Workload(
            "detail",
            "the detail view of one issue by node ID: parent, labels, 50 sub-issues, 100 "
            "comments with authors",
            _detail_operations,
        ),
        Workload(
            "board",
            "the board view: acme's issues grouped by workflow state, each state with its "
            "count and 20 cards (assignee, labels)",
            _board_operations,
        ),
        Workload(
            "search",
            f'full-text search of acme for "{SEARCH_QUERY}": count, 20 ranked results with '
            "snippets and states",
            _search_operations,
            {"postgraphile": NO_SEARCH, "postgraphile5": NO_SEARCH},
        ),
        Workload(
            "issueCreate",
            "the issueCreate mutation: a new issue (assignee, label) in globex's project",
            _create_operations,
            {"postgraphile": NO_MUTATIONS, "postgraphile5": NO_MUTATIONS, "floor": NO_FLOOR_WRITES},
        ),
        Workload(
            "issueUpdate",
            f"the issueUpdate mutation spread over {UPDATED_ISSUES} issues of acme: title, "
            "and priority or state",
            _update_operations,
            {"postgraphile": NO_MUTATIONS, "postgraphile5": NO_MUTATIONS, "floor": NO_FLOOR_WRITES},
        ),
        Workload(
            "writes-spread",
            f"issueUpdate over {SPREAD_ISSUES} issues of acme and {SPREAD_ISSUES} of globex, "
            "alternately: two activity streams, so write throughput can grow with --workers",
            _spread_operations,
            {"postgraphile": NO_MUTATIONS, "postgraphile5": NO_MUTATIONS, "floor": NO_FLOOR_WRITES},
        ),
        Workload(
            "mixed",
            "90% reads / 10% writes in one run: "
            + ", ".join(f"{name} {share:g}%" for name, share in MIXED),
            _mixed_operations,
            {
                "postgraphile": NO_MIXED,
                "postgraphile5": NO_MIXED,
                "floor": NO_FLOOR_WRITES,
            },
        ),
    )
}

# The default run stays near 7 minutes on 2 cores (with board too it took 10): the two views
# the targets are about, and `mixed`, which loads every operation (board, search and both
# writes) at once. board (with its PostGraphile comparison), search, issueCreate and
# issueUpdate alone are one --workloads away.
DEFAULT_WORKLOADS = ("list", "detail", "mixed")


def writes(workload: str, targets: Targets) -> bool:
    """Whether the workload changes the database (then bench/baseline.py restores it)."""
    return any(DOCUMENTS[op.document].writes for _, op in WORKLOADS[workload].operations(targets))


def document_shares(workload: str, targets: Targets) -> dict[str, float]:
    """Each document's share of the workload's requests, summing to 1."""
    shares: dict[str, float] = {}
    for weight, operation in WORKLOADS[workload].operations(targets):
        shares[operation.document] = shares.get(operation.document, 0.0) + weight
    total = sum(shares.values())
    return {name: share / total for name, share in shares.items()}


# -- checking answers -----------------------------------------------------------------------


class CheckError(Exception):
    """An answer is not what the workload asks for: measuring that server would mislead."""


def checked_operations(name: str, targets: Targets) -> list[Operation]:
    """One operation per distinct document of the workload (its first), in order: what the
    answer checks send. The other bodies of a document differ only by their values."""
    first: dict[str, Operation] = {}
    for _, operation in WORKLOADS[name].operations(targets):
        first.setdefault(operation.document, operation)
    return list(first.values())


def check_answer(who: str, workload: str, status: int, body: Any) -> dict[str, Any]:
    """`body` if it is an HTTP 200 with data and without errors (GraphQL's, or a mutation
    payload's typed ones); else CheckError showing it."""
    data = body.get("data") if isinstance(body, dict) else None
    top = next(iter(data.values()), None) if isinstance(data, dict) and data else None
    refused = isinstance(top, dict) and bool(top.get("errors"))
    if status != 200 or not isinstance(body, dict) or "errors" in body or top is None or refused:
        shown = orjson.dumps(body).decode()[:3000] if isinstance(body, dict) else repr(body)
        what = "a refusal" if refused else "errors or no data"
        raise CheckError(f"{who} answered {workload} with HTTP {status} and {what}:\n{shown}")
    return body


def check_same_rows(
    who: str, workload: str, summary: dict[str, int], backlog: dict[str, int]
) -> None:
    if summary != backlog:
        raise CheckError(
            f"{who} answered {workload} with other rows than Backlog: {summary} != {backlog}"
        )
