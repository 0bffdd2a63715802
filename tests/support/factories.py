"""Typed functions that make (or find) the data a test needs.

The shared test database holds the demo seed (workspaces `acme` and `globex`); what a test adds
there is rolled back with its transaction. Race tests, which need real commits, get a committed
workspace of their own (`race_workspace`), deleted afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.session import Database
from server.app import create_app
from server.settings import Settings
from tests.support.actors import OWNER, TEST_JWT_SECRET
from tests.support.graphql import GraphQL, data
from tests.support.ids import global_ids, ids, to_global_id

# ---- the demo seed ---------------------------------------------------------------------------

ACME_PK = 1  # the seed's first workspace, `acme`, where the demo users play their roles
GLOBEX_PK = 2  # the stranger's workspace
ACME = to_global_id("Workspace", ACME_PK)
ACME_ISSUE_PK = 1  # the seed's first issue, ENG-1, in acme

# ---- issues ----------------------------------------------------------------------------------

ISSUE_FIELDS = """
    id identifier title description priority estimate dueDate version archivedAt
    state { name } assignee { email } parent { identifier } project { key }
    labels { nodes { name } }
"""
ISSUE_CREATE = f"""mutation ($input: IssueCreateInput!) {{
    issueCreate(input: $input) {{ issue {{ {ISSUE_FIELDS} }} errors {{ code field message }} }}
}}"""
ISSUE_UPDATE = f"""mutation ($input: IssueUpdateInput!) {{
    issueUpdate(input: $input) {{ issue {{ {ISSUE_FIELDS} }} errors {{ code field message }} }}
}}"""


async def project_id(
    connection: AsyncConnection, key: str = "ENG", workspace: int = ACME_PK
) -> str:
    """The global id of the project `key` of a workspace (by default acme's ENG)."""
    keys = await ids(
        connection,
        "SELECT id FROM projects WHERE key = :k AND workspace_id = :w",
        k=key,
        w=workspace,
    )
    assert len(keys) == 1, (key, workspace, keys)
    return to_global_id("Project", keys[0])


async def add_project(
    connection: AsyncConnection, key: str, name: str = "Added", workspace: int = ACME_PK
) -> str:
    """Inserts a project (rolled back with the test); its global id."""
    (key_pk,) = await ids(
        connection,
        "INSERT INTO projects (workspace_id, key, name) VALUES (:w, :k, :n) RETURNING id",
        w=workspace,
        k=key,
        n=name,
    )
    return to_global_id("Project", key_pk)


async def live_issue_count(connection: AsyncConnection, workspace: int = ACME_PK) -> int:
    """How many issues of a workspace are not archived (what `issues` lists by default)."""
    (count,) = await ids(
        connection,
        "SELECT count(*) FROM issues WHERE workspace_id = :w AND archived_at IS NULL",
        w=workspace,
    )
    return int(count)


async def user_id(connection: AsyncConnection, email: str) -> str:
    """The global id of the user with this email."""
    (found,) = await global_ids(
        connection, "User", "SELECT id FROM users WHERE email = :e", e=email
    )
    return found


async def create_issue(gql: GraphQL, connection: AsyncConnection, **fields: Any) -> dict[str, Any]:
    """Creates an issue (by default titled "A new issue", in acme's ENG); the `issueCreate`
    payload, which must hold no GraphQL errors."""
    fields.setdefault("projectId", await project_id(connection))
    fields.setdefault("title", "A new issue")
    body = await gql(ISSUE_CREATE, {"input": fields})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["issueCreate"]
    return payload


# ---- webhooks ----------------------------------------------------------------------------------


async def add_webhook(
    connection: AsyncConnection,
    *event_types: str,
    workspace: int = ACME_PK,
    enabled: bool = True,
    url: str = "https://hooks.example.com/backlog",
) -> int:
    """Inserts a webhook subscribed to `event_types` (`issue.updated`...); its key."""
    (key,) = await ids(
        connection,
        "INSERT INTO webhooks (workspace_id, url, event_types, enabled, secret) "
        "VALUES (:w, :u, :t, :e, 'whsec_dGVzdA==') RETURNING id",
        w=workspace,
        u=url,
        t=list(event_types),
        e=enabled,
    )
    return int(key)


async def add_webhook_message(
    connection: AsyncConnection, webhook: int, *, sent: bool = False, event: str = "issue.created"
) -> int:
    """Inserts an outbox message for a webhook (sent, or due); its key."""
    (key,) = await ids(
        connection,
        "INSERT INTO outbox_messages (kind, target_id, payload, sent_at, available_at) "
        "VALUES ('webhook', :w, CAST(:p AS jsonb), CASE WHEN :s THEN now() END, "
        "now() + interval '1 hour') RETURNING id",
        w=webhook,
        p=f'{{"type": "{event}"}}',
        s=sent,
    )
    return int(key)


async def add_webhook_delivery(
    connection: AsyncConnection, webhook: int, message: int, *, attempt: int = 1
) -> int:
    """Inserts a failed delivery attempt of a message; its key."""
    (key,) = await ids(
        connection,
        "INSERT INTO webhook_deliveries (webhook_id, message_id, event_type, attempt, "
        "status_code, latency_ms, response_excerpt, error, succeeded, next_retry_at) "
        "VALUES (:w, :m, 'issue.created', :a, 500, 12, 'oops', 'HTTP 500', false, "
        "now() + interval '5 minutes') RETURNING id",
        w=webhook,
        m=message,
        a=attempt,
    )
    return int(key)


async def webhook_messages(connection: AsyncConnection, *webhooks: int) -> list[Any]:
    """The outbox messages of these webhooks, oldest first (kind, target_id, payload...)."""
    result = await connection.execute(
        text(
            "SELECT id, kind, target_id, payload, sent_at, abandoned_at, available_at "
            "FROM outbox_messages WHERE kind = 'webhook' AND target_id = ANY(:w) ORDER BY id"
        ),
        {"w": list(webhooks)},
    )
    return list(result.all())


# ---- comments and labels ---------------------------------------------------------------------

COMMENT_CREATE = """mutation ($input: CommentCreateInput!) {
    commentCreate(input: $input) { comment { id } errors { code } } }"""
LABEL_CREATE = """mutation ($input: LabelCreateInput!) {
    labelCreate(input: $input) { label { id } errors { code } } }"""


async def _created(gql: GraphQL, document: str, input: dict[str, Any], field: str) -> str:
    body = await gql(document, {"input": input})
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert payload["errors"] == [], payload
    created: str = payload[field]["id"]
    return created


async def create_comment(gql: GraphQL, issue_id: str, body: str) -> str:
    """Comments on an issue; the comment's global id."""
    return await _created(gql, COMMENT_CREATE, {"issueId": issue_id, "body": body}, "comment")


async def create_label(gql: GraphQL, name: str, workspace: str = ACME) -> str:
    """Creates a label (by default in acme); its global id."""
    label = {"workspaceId": workspace, "name": name, "color": "#112233"}
    return await _created(gql, LABEL_CREATE, label, "label")


# ---- a committed workspace for races ---------------------------------------------------------

RACE_SLUG = "race-test"
RACE_ISSUE_CREATE = """mutation ($input: IssueCreateInput!) {
    issueCreate(input: $input) { issue { id number } errors { code } } }"""


@dataclass(frozen=True)
class RaceWorkspace:
    """A committed workspace (the demo owner is its OWNER) with one state, `Todo`, and one
    project, and a client whose requests commit for real."""

    client: httpx.AsyncClient
    database: Database
    workspace: int  # primary key
    project: str  # global id


@asynccontextmanager
async def race_workspace(
    engine: AsyncEngine, database_url: str, slug: str = RACE_SLUG
) -> AsyncIterator[RaceWorkspace]:
    database = Database(engine)
    setup = database.request_handle()
    try:
        workspace = await setup.scalar(
            text("INSERT INTO workspaces (slug, name) VALUES (:s, 'Race') RETURNING id").bindparams(
                s=slug
            )
        )
        await setup.fetch_all(
            text(
                "INSERT INTO memberships (workspace_id, user_id, role) "
                "SELECT :w, id, 'OWNER' FROM users WHERE email = :e"
            ).bindparams(w=workspace, e=OWNER)
        )
        await setup.fetch_all(
            text(
                "INSERT INTO workflow_states (workspace_id, name, type, position) "
                "VALUES (:w, 'Todo', 'UNSTARTED', 0)"
            ).bindparams(w=workspace)
        )
        project = await setup.scalar(
            text(
                "INSERT INTO projects (workspace_id, key, name) VALUES (:w, 'RACE', 'Race') "
                "RETURNING id"
            ).bindparams(w=workspace)
        )
        await setup.commit()
    finally:
        await setup.close()
    settings = Settings(
        database_url=database_url,
        BACKLOG_ENV="development",
        BACKLOG_JWT_SECRET=TEST_JWT_SECRET,
        BACKLOG_DEMO_VIEWER=OWNER,
        # Off: what these requests spent would be committed, and other tests' budgets with it.
        BACKLOG_RATE_LIMIT="0",
    )
    app = create_app(settings, database=database)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://backlog.test"
        ) as client:
            yield RaceWorkspace(
                client=client,
                database=database,
                workspace=workspace,
                project=to_global_id("Project", project),
            )
    finally:
        cleanup = database.request_handle()
        try:
            await cleanup.fetch_all(
                text(
                    "DELETE FROM activity WHERE workspace_id IN "
                    "(SELECT id FROM workspaces WHERE slug = :s)"
                ).bindparams(s=slug)
            )
            await cleanup.fetch_all(
                text("DELETE FROM workspaces WHERE slug = :s").bindparams(s=slug)
            )
            await cleanup.fetch_all(text("DELETE FROM idempotency_keys WHERE key LIKE 'race-%'"))
            await cleanup.commit()
        finally:
            await cleanup.close()


async def race_issue(race: RaceWorkspace, title: str, project: str | None = None) -> str:
    """Creates (and commits) an issue in the race workspace; its global id."""
    created = await data(
        race.client,
        RACE_ISSUE_CREATE,
        {"input": {"projectId": project or race.project, "title": title}},
    )
    issue_id: str = created["issueCreate"]["issue"]["id"]
    return issue_id
