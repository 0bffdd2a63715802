"""The floor: Backlog's SQL for a workload with no GraphQL around it.

Each route runs THE SAME statements Backlog runs for that view: the same per-request handle
(one connection, one transaction), the same viewer lookup, the same `db.loaders.Loaders`, loaded
in the same rounds Backlog's level executor awaits together (so the DataLoaders batch, and cache
across rounds, exactly as there), then the rows are shaped into Backlog's JSON by hand and
encoded with orjson. What Backlog spends beyond this is the price of GraphQL: parsing,
validation, execution, Strawberry objects. The benchmark checks the statement counts and the
answers against Backlog's before it measures anything.

    uvicorn bench.floor:create_floor_app --factory   # DATABASE_URL as for Backlog
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.identity import viewer_by_email
from auth.policies import read_scope
from core.ids import from_global_id, to_global_id
from db import issue_filters
from db.loaders import CountKey, Join, Loaders
from db.pagination import PageArgs
from db.search import SnippetKey, search_ordering
from db.session import Database, RequestDatabase, create_engine
from resolvers.search import search_spec, snippet_html
from schema import orderings
from server.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Row

    from db.loaders import RelationLoader
    from db.pagination import Page

# What Backlog passes for absent `filter:` arguments (schema.issue_filters.filter_spec(None)):
# part of the loader keys, so it must be equal for the batches and caches to line up.
NO_ISSUE_FILTER = issue_filters.NO_FILTER

View = Callable[[Loaders, dict[str, Any]], Awaitable[dict[str, Any]]]


def _page(first: int) -> PageArgs:
    # schema.pagination.page_args for `first: n` and no cursors.
    return PageArgs(limit=first)


async def _by_key(
    loaders: Loaders, loader: str, keys: Sequence[int | None]
) -> dict[int, Row[Any] | None]:
    # schema.relations.related_nodes: distinct non-null keys, one read of their rows.
    wanted = list(dict.fromkeys(key for key in keys if key is not None))
    rows = await loaders.rows_by_id(loader, wanted) if wanted else []
    return dict(zip(wanted, rows, strict=True))


# The links each view's document selects on its lists' items (execution.links finds the same).
STATE = Join("state_id", "workflow_state_by_id")
ASSIGNEE = Join("assignee_id", "user_by_id")
PROJECT = Join("project_id", "project_by_id")
AUTHOR = Join("author_id", "user_by_id")
LIST_ISSUE_JOINS = frozenset({STATE, ASSIGNEE, PROJECT})
DETAIL_ISSUE_JOINS = frozenset(
    {STATE, ASSIGNEE, PROJECT, Join("creator_id", "user_by_id"), Join("parent_id", "issue_by_id")}
)


def _comment_pages(loaders: Loaders, issue_ids: Sequence[int], first: int) -> Awaitable[list[Page]]:
    """Each issue's first comments, with their authors (`comments(first) { nodes { author } }`)."""
    return loaders.comments_of_issue.pages_of(
        issue_ids,
        orderings.COMMENTS,
        _page(first),
        joins=frozenset({AUTHOR}),
    )


async def _counts(
    relation: RelationLoader, parent_ids: Sequence[int], filter: Hashable | None = None
) -> list[int]:
    return await relation.counts.load_many(
        [CountKey(parent_id, filter) for parent_id in parent_ids]
    )


def _name(row: Row[Any] | None) -> dict[str, Any] | None:
    return None if row is None else {"name": row.name}


def _iso(value: Any) -> Any:
    # Strawberry's Date and DateTime scalars serialize with isoformat().
    return None if value is None else value.isoformat()


async def list_view(loaders: Loaders, variables: dict[str, Any]) -> dict[str, Any]:
    """`workspace(slug) { issues(first) { totalCount nodes { ... } } }`, as bench.workloads."""
    workspace = await loaders.workspace_by_slug.load(variables["slug"])
    if workspace is None:
        return {"workspace": None}
    issues_of = loaders.issues_of_workspace
    page = (
        await issues_of.pages_of(
            [workspace.id],
            orderings.ISSUES_DEFAULT,
            _page(variables["first"]),
            NO_ISSUE_FILTER,
            joins=LIST_ISSUE_JOINS,
        )
    )[0]
    rows = page.rows
    ids = [row.id for row in rows]
    # One round: the connection's totalCount and every relation of its nodes.
    (total,), states, assignees, projects, label_pages, comment_pages = await asyncio.gather(
        _counts(issues_of, [workspace.id], NO_ISSUE_FILTER),
        _by_key(loaders, "workflow_state_by_id", [row.state_id for row in rows]),
        _by_key(loaders, "user_by_id", [row.assignee_id for row in rows]),
        _by_key(loaders, "project_by_id", [row.project_id for row in rows]),
        loaders.labels_of_issue.pages_of(ids, orderings.LABELS, _page(10)),
        _comment_pages(loaders, ids, 5),
    )
    # Next round: the comment connections' totals and the comments' authors.
    comment_totals, authors = await asyncio.gather(
        _counts(loaders.comments_of_issue, ids),
        _by_key(loaders, "user_by_id", [c.author_id for page in comment_pages for c in page.rows]),
    )
    nodes = []
    for row, labels, comments, comment_total in zip(
        rows, label_pages, comment_pages, comment_totals, strict=True
    ):
        state = states[row.state_id]
        project = projects[row.project_id]
        nodes.append(
            {
                "id": to_global_id("Issue", row.id),
                "identifier": f"{row.project_key}-{row.number}",
                "title": row.title,
                "priority": row.priority.name,
                "state": {"name": state.name, "type": state.type.name},
                "assignee": _name(assignees.get(row.assignee_id)),
                "project": {"key": project.key, "name": project.name},
                "labels": {"nodes": [{"name": label.name} for label in labels.rows]},
                "comments": {
                    "totalCount": comment_total,
                    "nodes": [
                        {"body": c.body, "author": _name(authors.get(c.author_id))}
                        for c in comments.rows
                    ],
                },
            }
        )
    return {"workspace": {"issues": {"totalCount": total, "nodes": nodes}}}


async def detail_view(loaders: Loaders, variables: dict[str, Any]) -> dict[str, Any]:
    """`node(id) { ... on Issue { ... } }`, as bench.workloads."""
    decoded = from_global_id(variables["id"])
    if decoded is None or decoded[0] != "Issue":
        return {"node": None}
    issue = await loaders.by_id_with("issue_by_id", DETAIL_ISSUE_JOINS).load(decoded[1])
    if issue is None:
        return {"node": None}
    pk = [issue.id]
    # One round: every relation of the issue (assignee and creator share one users batch).
    (
        states,
        people,
        projects,
        parents,
        (labels,),
        (children,),
        (comments,),
    ) = await asyncio.gather(
        _by_key(loaders, "workflow_state_by_id", [issue.state_id]),
        _by_key(loaders, "user_by_id", [issue.assignee_id, issue.creator_id]),
        _by_key(loaders, "project_by_id", [issue.project_id]),
        _by_key(loaders, "issue_by_id", [issue.parent_id]),
        loaders.labels_of_issue.pages_of(pk, orderings.LABELS, _page(20)),
        loaders.children_of_issue.pages_of(
            pk,
            orderings.ISSUES_DEFAULT,
            _page(50),
            NO_ISSUE_FILTER,
            joins=frozenset({STATE}),
        ),
        _comment_pages(loaders, pk, 100),
    )
    # Next round: the connections' totals, the sub-issues' states, the comments' authors.
    (children_total,), child_states, (comments_total,), authors = await asyncio.gather(
        _counts(loaders.children_of_issue, pk, NO_ISSUE_FILTER),
        _by_key(loaders, "workflow_state_by_id", [child.state_id for child in children.rows]),
        _counts(loaders.comments_of_issue, pk),
        _by_key(loaders, "user_by_id", [c.author_id for c in comments.rows]),
    )
    state = states[issue.state_id]
    assignee = people.get(issue.assignee_id)
    project = projects[issue.project_id]
    parent = parents.get(issue.parent_id)
    return {
        "node": {
            "id": to_global_id("Issue", issue.id),
            "identifier": f"{issue.project_key}-{issue.number}",
            "title": issue.title,
            "description": issue.description,
            "priority": issue.priority.name,
            "estimate": issue.estimate,
            "dueDate": _iso(issue.due_date),
            "createdAt": _iso(issue.created_at),
            "updatedAt": _iso(issue.updated_at),
            "state": {"name": state.name, "type": state.type.name},
            "assignee": None
            if assignee is None
            else {"name": assignee.name, "email": assignee.email},
            "creator": _name(people.get(issue.creator_id)),
            "project": {"key": project.key, "name": project.name},
            "parent": None
            if parent is None
            else {"identifier": f"{parent.project_key}-{parent.number}", "title": parent.title},
            "labels": {
                "nodes": [{"name": label.name, "color": label.color} for label in labels.rows]
            },
            "children": {
                "totalCount": children_total,
                "nodes": [
                    {
                        "identifier": f"{child.project_key}-{child.number}",
                        "title": child.title,
                        "state": {"name": child_states[child.state_id].name},
                    }
                    for child in children.rows
                ],
            },
            "comments": {
                "totalCount": comments_total,
                "nodes": [
                    {
                        "body": c.body,
                        "createdAt": _iso(c.created_at),
                        "author": _name(authors.get(c.author_id)),
                    }
                    for c in comments.rows
                ],
            },
        }
    }


async def board_view(loaders: Loaders, variables: dict[str, Any]) -> dict[str, Any]:
    """`workspace(slug) { issueGroups(by: STATE, first) { ... } }`, as bench.workloads."""
    workspace = await loaders.workspace_by_slug.load(variables["slug"])
    if workspace is None:
        return {"workspace": None}
    states = await loaders.workflow_states_by_workspace_id.load(workspace.id)
    state_ids = [state.id for state in states]
    issues_of = loaders.issues_of_state
    # One round: every group's count and first page (schema.board).
    totals, pages = await asyncio.gather(
        _counts(issues_of, state_ids, NO_ISSUE_FILTER),
        issues_of.pages_of(
            state_ids,
            orderings.ISSUES_DEFAULT,
            _page(variables["first"]),
            NO_ISSUE_FILTER,
            joins=frozenset({ASSIGNEE}),
        ),
    )
    cards = [row for page in pages for row in page.rows]
    # Next round: the cards' assignees and labels.
    assignees, label_pages = await asyncio.gather(
        _by_key(loaders, "user_by_id", [row.assignee_id for row in cards]),
        loaders.labels_of_issue.pages_of([row.id for row in cards], orderings.LABELS, _page(5)),
    )
    labels_of = dict(zip((row.id for row in cards), label_pages, strict=True))
    return {
        "workspace": {
            "issueGroups": [
                {
                    "state": {"name": state.name, "type": state.type.name},
                    "totalCount": total,
                    "issues": {
                        "nodes": [
                            {
                                "id": to_global_id("Issue", row.id),
                                "identifier": f"{row.project_key}-{row.number}",
                                "title": row.title,
                                "priority": row.priority.name,
                                "assignee": _name(assignees.get(row.assignee_id)),
                                "labels": {
                                    "nodes": [
                                        {"name": label.name, "color": label.color}
                                        for label in labels_of[row.id].rows
                                    ]
                                },
                            }
                            for row in page.rows
                        ]
                    },
                }
                for state, total, page in zip(states, totals, pages, strict=True)
            ]
        }
    }


async def search_view(loaders: Loaders, variables: dict[str, Any]) -> dict[str, Any]:
    """`workspace(slug) { search(query, first) { ... } }`, as bench.workloads."""
    workspace = await loaders.workspace_by_slug.load(variables["slug"])
    if workspace is None:
        return {"workspace": None}
    spec = search_spec(variables["query"], include_archived=False)
    results = loaders.search_results_of_workspace
    page = (
        await results.pages_of([workspace.id], search_ordering(), _page(variables["first"]), spec)
    )[0]
    rows = page.rows
    # One round: the count, the snippets and the issues' states.
    (total,), headlines, states = await asyncio.gather(
        _counts(results, [workspace.id], spec),
        loaders.search_snippets.load_many(
            [SnippetKey(spec.query, row.id, row.matched_comment_id) for row in rows]
        ),
        _by_key(loaders, "workflow_state_by_id", [row.state_id for row in rows]),
    )
    return {
        "workspace": {
            "search": {
                "totalCount": total,
                "nodes": [
                    {
                        # schema.search.SearchResult: the database ranks in single precision.
                        "rank": float(f"{row.search_rank:.6g}"),
                        "snippet": None if headline is None else snippet_html(headline),
                        "issue": {
                            "id": to_global_id("Issue", row.id),
                            "identifier": f"{row.project_key}-{row.number}",
                            "title": row.title,
                            "state": {"name": states[row.state_id].name},
                        },
                    }
                    for row, headline in zip(rows, headlines, strict=True)
                ],
            }
        }
    }


# Reads only: bench/workloads.py says why the writes have no floor.
VIEWS: dict[str, View] = {
    "list": list_view,
    "detail": detail_view,
    "board": board_view,
    "search": search_view,
}


async def respond(
    db: RequestDatabase, viewer_email: str, workload: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """The `{"data": ...}` body of the view named `workload` (a document of bench.workloads), on
    a request handle the caller closes."""
    # Development mode's authentication in server.graphql_view: the first statement.
    viewer = await viewer_by_email(db, viewer_email)
    return {"data": await VIEWS[workload](Loaders(db, read_scope(viewer)), variables)}


def create_floor_app(settings: Settings | None = None) -> Starlette:
    """Entry point for uvicorn's `--factory`; reads Backlog's settings from the environment."""
    settings = settings or Settings()
    if settings.database_url is None:
        raise RuntimeError("DATABASE_URL is not set.")
    database_url = settings.database_url

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Backlog's engine settings (pool, timeouts, JIT off): only the layer above differs.
        app.state.database = Database(
            create_engine(
                database_url,
                pool_size=settings.db_pool_size,
                statement_timeout_ms=settings.statement_timeout_ms,
            )
        )
        try:
            yield
        finally:
            await app.state.database.dispose()

    def route(workload: str) -> Route:
        async def endpoint(request: Request) -> Response:
            body = orjson.loads(await request.body())
            database: Database = request.app.state.database
            db = database.request_handle()
            try:
                data = await respond(
                    db, settings.demo_viewer_email, workload, body.get("variables") or {}
                )
            finally:
                await db.close()
            return Response(orjson.dumps(data), media_type="application/json")

        return Route(f"/{workload}", endpoint, methods=["POST"])

    return Starlette(routes=[route(workload) for workload in VIEWS], lifespan=lifespan)
