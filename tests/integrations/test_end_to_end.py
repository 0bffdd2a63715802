"""The whole path, through a real `backlog serve` (production mode, its outbox worker running
inside it): mutations over HTTP write webhook deliveries, notifications and email in their own
transactions; the server's worker delivers them to a real HTTP receiver (verifying every
signature with `standardwebhooks`) and a real SMTP server; a refused mutation sends nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from core.ids import to_global_id
from tests.integrations.conftest import MEMBER_EMAIL, OWNER_EMAIL, Hooks, payload_of
from tests.support.actors import TEST_JWT_SECRET
from tests.support.credentials import ISSUER
from tests.support.mail import SmtpServer, smtp_server
from tests.support.processes import running_server
from tests.support.webhook_receiver import Receiver

WEBHOOK_CREATE = """mutation ($input: WebhookCreateInput!) {
  webhookCreate(input: $input) { webhook { id } secret errors { code message } } }"""
WEBHOOK_TEST = """mutation ($id: ID!) {
  webhookTest(input: {id: $id}) { errors { code message } } }"""
ISSUE_CREATE = """mutation ($input: IssueCreateInput!) {
  issueCreate(input: $input) { issue { id identifier } errors { code field } } }"""
INBOX = """{ viewer { notifications(first: 10) { nodes { kind issue { identifier } } } } }"""


@pytest.fixture(scope="module")
def mail() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def server(
    hooks_url: str, mail: SmtpServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`backlog serve` on the package's database, with its outbox worker."""
    tmp_path = tmp_path_factory.mktemp("end-to-end")
    with running_server(
        tmp_path,
        stop_within_s=20,
        DATABASE_URL=hooks_url,
        BACKLOG_ENV="production",
        BACKLOG_JWT_SECRET=TEST_JWT_SECRET,
        BACKLOG_RATE_LIMIT="0",
        BACKLOG_OUTBOX_WORKER="true",
        BACKLOG_OUTBOX_POLL_S="0.2",
        BACKLOG_WEBHOOK_ALLOW_PRIVATE="true",
        BACKLOG_SMTP_URL=mail.url,
        BACKLOG_APP_URL="https://app.example",
    ) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def hooks_url(hooks: Hooks) -> str:
    return hooks.url


class Caller:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.token = token

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return dict(body["data"])


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=20) as client:
        yield client


async def caller(hooks: Hooks, http: httpx.AsyncClient, email: str) -> Caller:
    user = await hooks.one("SELECT id FROM users WHERE email = :e", e=email)
    return Caller(http, ISSUER.issue(user.id)[0])


async def test_committed_changes_reach_the_receiver_the_inbox_and_the_mail_server(
    hooks: Hooks, http: httpx.AsyncClient, mail: SmtpServer
) -> None:
    state = await hooks.one(
        "INSERT INTO workflow_states (workspace_id, name, type, position) "
        "VALUES (:w, 'Todo', 'UNSTARTED', 0) RETURNING id",
        w=hooks.workspace,
    )
    project = await hooks.one(
        "INSERT INTO projects (workspace_id, key, name) VALUES (:w, 'E2E', 'End to end') "
        "RETURNING id",
        w=hooks.workspace,
    )
    member = await hooks.one("SELECT id FROM users WHERE email = :e", e=MEMBER_EMAIL)
    owner = await caller(hooks, http, OWNER_EMAIL)
    async with Receiver([]) as receiver:
        created = (
            await owner.data(
                WEBHOOK_CREATE,
                input={
                    "workspaceId": to_global_id("Workspace", hooks.workspace),
                    "url": receiver.url(),
                    "eventTypes": ["ISSUE_CREATED", "ISSUE_UPDATED"],
                },
            )
        )["webhookCreate"]
        assert created["errors"] == []
        receiver.secrets.append(created["secret"])
        issue = {
            "projectId": to_global_id("Project", project.id),
            "stateId": to_global_id("WorkflowState", state.id),
            "assigneeId": to_global_id("User", member.id),
        }

        refused = (await owner.data(ISSUE_CREATE, input={**issue, "title": " "}))["issueCreate"]
        assert [error["code"] for error in refused["errors"]] == ["INVALID_INPUT"]
        made = (await owner.data(ISSUE_CREATE, input={**issue, "title": "Ship it"}))["issueCreate"]
        assert made["errors"] == []
        # The ping is written after both: had the refused create written anything, it would
        # have been delivered before it.
        await owner.data(WEBHOOK_TEST, id=created["webhook"]["id"])

        deliveries = await receiver.wait_for(2)
        assert [payload_of(delivery.body)["type"] for delivery in deliveries] == [
            "issue.created",
            "webhook.ping",
        ]
        assert payload_of(deliveries[0].body)["data"]["object"]["title"] == "Ship it"
        assert receiver.refused == []

    (email,) = await asyncio.to_thread(mail.inbox.wait_for, 1)
    assert email.envelope_to == [MEMBER_EMAIL]
    assert made["issue"]["identifier"] in email.message["Subject"]
    assert email.message["List-Unsubscribe"].startswith("<https://app.example/unsubscribe?token=")
    inbox = (await (await caller(hooks, http, MEMBER_EMAIL)).data(INBOX))["viewer"]
    assert inbox["notifications"]["nodes"] == [
        {"kind": "ASSIGNED", "issue": {"identifier": made["issue"]["identifier"]}}
    ]
