"""Every root field and mutation, for every kind of caller: the access contract, as a table.

A new root field or mutation fails `test_every_root_field_and_mutation_has_a_row` until it gets a
row here, saying what each caller must get. Callers authenticate the way clients do (Bearer
tokens against a production-mode app); "revoked" and "expired" carry credentials that were valid.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from auth.tokens import API_TOKEN_PREFIX, new_secret, secret_hash
from core.ids import to_global_id
from schema.build import build_schema
from tests.support.actors import ADMIN, GUEST, MEMBER, OWNER, STRANGER
from tests.support.credentials import ISSUER
from tests.support.factories import ACME, ACME_ISSUE_PK, ACME_PK
from tests.support.graphql import refused

ACTORS = ("anonymous", "stranger", "guest", "member", "admin", "owner", "revoked", "expired")
MEMBERS = ("guest", "member", "admin", "owner")
EMAILS = {"stranger": STRANGER, "guest": GUEST, "member": MEMBER, "admin": ADMIN, "owner": OWNER}
ACME_ISSUE = to_global_id("Issue", ACME_ISSUE_PK)

Check = Callable[[str, httpx.Response], None]


@dataclass(frozen=True)
class Case:
    """One row of the matrix: a document, its variables, and what each actor must get."""

    document: str
    check: Check
    variables: dict[str, Any] | Callable[[dict[str, str]], dict[str, Any]] | None = None


def refused_credentials(actor: str, response: httpx.Response) -> bool:
    """Revoked and expired credentials never reach a resolver: 401, UNAUTHENTICATED."""
    if actor not in ("revoked", "expired"):
        return False
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    return True


def data_of(response: httpx.Response, field: str) -> Any:
    body = response.json()
    assert "errors" not in body, body
    return body["data"][field]


def error_code(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


def visible_to_members(field: str) -> Check:
    """Members of acme see it; anyone else gets null, exactly as for something that is not there."""

    def check(actor: str, response: httpx.Response) -> None:
        if refused_credentials(actor, response):
            return
        value = data_of(response, field)
        if actor in MEMBERS:
            assert value not in (None, [None]), (actor, value)
        else:
            assert value in (None, [None]), (actor, value)

    return check


def check_viewer(actor: str, response: httpx.Response) -> None:
    if refused_credentials(actor, response):
        return
    viewer = data_of(response, "viewer")
    expected = None if actor == "anonymous" else EMAILS[actor]
    assert (viewer or {}).get("email") == expected


def check_rate_limit(actor: str, response: httpx.Response) -> None:
    """Everyone has a budget: a user's own, or, anonymous, the address's (a smaller one)."""
    if refused_credentials(actor, response):
        return
    budget = data_of(response, "rateLimit")
    assert budget["limit"] == (300 if actor == "anonymous" else 2000), (actor, budget)


def open_to_everyone(field: str, *, errors: tuple[str, ...] = ()) -> Check:
    """Needs no sign-in: answers with its payload (here, the payload errors named)."""

    def check(actor: str, response: httpx.Response) -> None:
        if refused_credentials(actor, response):
            return
        payload = data_of(response, field)
        assert [e["code"] for e in payload["errors"]] == list(errors), (actor, payload)

    return check


def refused_as(field: str, code: str) -> Check:
    def check(actor: str, response: httpx.Response) -> None:
        if refused_credentials(actor, response):
            return
        assert refused(response, field)
        assert error_code(response) == code

    return check


def signed_in_only(field: str, *, errors: tuple[str, ...] = ()) -> Check:
    """Anonymous callers are refused; any signed-in caller gets the payload."""

    def check(actor: str, response: httpx.Response) -> None:
        if refused_credentials(actor, response):
            return
        if actor == "anonymous":
            assert refused(response, field)
            assert error_code(response) == "UNAUTHENTICATED"
            return
        payload = data_of(response, field)
        assert [e["code"] for e in payload["errors"]] == list(errors), (actor, payload)

    return check


def by_actor(field: str, outcomes: dict[str, str]) -> Check:
    """What each signed-in actor gets: a GraphQL error code (upper case, as `NOT_FOUND`), or
    `payload` / `payload:CODE` for a payload (with that payload error)."""

    def check(actor: str, response: httpx.Response) -> None:
        if refused_credentials(actor, response):
            return
        expected = "UNAUTHENTICATED" if actor == "anonymous" else outcomes[actor]
        if expected.startswith("payload"):
            wanted = expected.partition(":")[2]
            payload = data_of(response, field)
            assert [e["code"] for e in payload["errors"]] == ([wanted] if wanted else []), (
                actor,
                payload,
            )
        else:
            assert refused(response, field), (actor, response.json())
            assert error_code(response) == expected, (actor, response.json())

    return check


MANAGERS_ONLY = {"stranger": "NOT_FOUND", "guest": "FORBIDDEN", "member": "FORBIDDEN"}

MANAGERS_INVALID = {
    **MANAGERS_ONLY,
    "admin": "payload:INVALID_INPUT",
    "owner": "payload:INVALID_INPUT",
}
CONTRIBUTORS_INVALID = {
    "stranger": "NOT_FOUND",
    "guest": "FORBIDDEN",
    "member": "payload:INVALID_INPUT",
    "admin": "payload:INVALID_INPUT",
    "owner": "payload:INVALID_INPUT",
}
CONTRIBUTORS_OK = {
    "stranger": "NOT_FOUND",
    "guest": "FORBIDDEN",
    "member": "payload",
    "admin": "payload",
    "owner": "payload",
}
MANAGERS_OK = {**MANAGERS_ONLY, "admin": "payload", "owner": "payload"}


def members_own(outcome: str, *, others: str) -> dict[str, str]:
    """Outcomes for something of the member's own: `outcome` for the member, `others` for
    acme's other members; to the stranger it does not exist."""
    return {"stranger": "NOT_FOUND", **dict.fromkeys(MEMBERS, others), "member": outcome}


def tracker(mutation: str, input: str, outcomes: dict[str, str], **lookups: str) -> Case:
    """A row for a tracker mutation: `input` is GraphQL input text that may name the
    variables `$a`, `$b` (IDs, taken from the `lookups` fixture by the names given)."""
    declared = ", ".join(f"${name}: ID!" for name in lookups)
    document = (
        f"mutation{f'({declared})' if declared else ''} {{ {mutation}(input: {input}) "
        "{ errors { code } } }"
    )
    return Case(
        document,
        by_actor(mutation, outcomes),
        lambda ids: {name: ids[key] for name, key in lookups.items()},
    )


MATRIX: dict[str, Case] = {
    "Query.viewer": Case("{ viewer { email } }", check_viewer),
    "Query.workspace": Case(
        '{ workspace(slug: "acme") { slug } }', visible_to_members("workspace")
    ),
    "Query.node": Case(
        "query ($id: ID!) { node(id: $id) { id } }", visible_to_members("node"), {"id": ACME_ISSUE}
    ),
    "Query.nodes": Case(
        "query ($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        visible_to_members("nodes"),
        {"ids": [ACME]},
    ),
    "Query.rateLimit": Case("{ rateLimit { limit } }", check_rate_limit),
    "Mutation.signUp": Case(
        """mutation { signUp(input: {email: "x", password: "short", name: ""}) {
            errors { code } } }""",
        open_to_everyone("signUp", errors=("INVALID_INPUT",) * 3),
    ),
    "Mutation.logIn": Case(
        """mutation { logIn(input: {email: "nobody@example.com", password: "wrong"}) {
            errors { code } } }""",
        open_to_everyone("logIn", errors=("INVALID_CREDENTIALS",)),
    ),
    "Mutation.tokenRefresh": Case(
        'mutation { tokenRefresh(input: {refreshToken: "blr_unknown"}) { accessToken } }',
        refused_as("tokenRefresh", "UNAUTHENTICATED"),
    ),
    "Mutation.logOut": Case(
        'mutation { logOut(input: {refreshToken: "blr_unknown"}) { errors { code } } }',
        open_to_everyone("logOut"),
    ),
    "Mutation.passwordChange": Case(
        """mutation { passwordChange(input: {currentPassword: "wrong", newPassword: "x"}) {
            errors { code } } }""",
        signed_in_only("passwordChange", errors=("INVALID_CREDENTIALS",)),
    ),
    "Mutation.passwordResetRequest": Case(
        """mutation { passwordResetRequest(input: {email: "nobody@example.com"}) {
            errors { code } } }""",
        open_to_everyone("passwordResetRequest"),
    ),
    "Mutation.passwordResetComplete": Case(
        """mutation { passwordResetComplete(input: {token: "blp_unknown",
            newPassword: "a long enough password"}) { errors { code } } }""",
        open_to_everyone("passwordResetComplete", errors=("NOT_FOUND",)),
    ),
    "Mutation.apiTokenCreate": Case(
        """mutation { apiTokenCreate(input: {name: "", scope: READ}) { errors { code } } }""",
        signed_in_only("apiTokenCreate", errors=("INVALID_INPUT",)),
    ),
    "Mutation.workspaceCreate": Case(
        'mutation { workspaceCreate(input: {slug: "Not OK!", name: "n"}) { errors { code } } }',
        signed_in_only("workspaceCreate", errors=("INVALID_INPUT",)),
    ),
    "Mutation.workspaceUpdate": Case(
        'mutation ($id: ID!) { workspaceUpdate(input: {id: $id, name: ""}) { errors { code } } }',
        by_actor(
            "workspaceUpdate",
            {**MANAGERS_ONLY, "admin": "payload:INVALID_INPUT", "owner": "payload:INVALID_INPUT"},
        ),
        {"id": ACME},
    ),
    "Mutation.workspaceDelete": Case(
        # An id of no workspace: no caller learns more than "not found".
        'mutation { workspaceDelete(input: {id: "V29ya3NwYWNlOjk5OQ"}) { errors { code } } }',
        by_actor("workspaceDelete", {actor: "NOT_FOUND" for actor in EMAILS}),
    ),
    "Mutation.memberInvite": Case(
        """mutation ($id: ID!) { memberInvite(input: {workspaceId: $id, email: "x", role: MEMBER})
            { errors { code } } }""",
        by_actor(
            "memberInvite",
            {**MANAGERS_ONLY, "admin": "payload:INVALID_INPUT", "owner": "payload:INVALID_INPUT"},
        ),
        {"id": ACME},
    ),
    "Mutation.invitationAccept": Case(
        'mutation { invitationAccept(input: {token: "bli_unknown"}) { errors { code } } }',
        signed_in_only("invitationAccept", errors=("NOT_FOUND",)),
    ),
    "Mutation.invitationRevoke": Case(
        'mutation { invitationRevoke(input: {id: "SW52aXRhdGlvbjo5OTk"}) { revokedInvitationId } }',
        by_actor("invitationRevoke", {actor: "NOT_FOUND" for actor in EMAILS}),
    ),
    "Mutation.memberUpdateRole": Case(
        """mutation ($id: ID!) { memberUpdateRole(input: {membershipId: $id, role: OWNER})
            { errors { code } } }""",
        # The owner's own OWNER membership: only an owner may touch it (a no-op here).
        by_actor("memberUpdateRole", {**MANAGERS_ONLY, "admin": "FORBIDDEN", "owner": "payload"}),
        lambda ids: {"id": ids["owner_membership"]},
    ),
    "Mutation.memberRemove": Case(
        "mutation ($id: ID!) { memberRemove(input: {membershipId: $id}) { errors { code } } }",
        by_actor(
            "memberRemove", {**MANAGERS_ONLY, "admin": "FORBIDDEN", "owner": "payload:LAST_OWNER"}
        ),
        lambda ids: {"id": ids["owner_membership"]},
    ),
    "Mutation.workspaceLeave": Case(
        "mutation ($id: ID!) { workspaceLeave(input: {workspaceId: $id}) { errors { code } } }",
        by_actor(
            "workspaceLeave",
            {
                "stranger": "NOT_FOUND",
                "guest": "payload",
                "member": "payload",
                "admin": "payload",
                "owner": "payload:LAST_OWNER",
            },
        ),
        {"id": ACME},
    ),
    "Mutation.projectCreate": tracker(
        "projectCreate", '{workspaceId: $w, key: "1x", name: "n"}', MANAGERS_INVALID, w="acme"
    ),
    "Mutation.projectUpdate": tracker(
        "projectUpdate", '{id: $p, name: ""}', MANAGERS_INVALID, p="project"
    ),
    "Mutation.projectArchive": tracker("projectArchive", "{id: $p}", MANAGERS_OK, p="project"),
    "Mutation.projectUnarchive": tracker("projectUnarchive", "{id: $p}", MANAGERS_OK, p="project"),
    "Mutation.issueCreate": tracker(
        "issueCreate", '{projectId: $p, title: ""}', CONTRIBUTORS_INVALID, p="project"
    ),
    "Mutation.issueUpdate": tracker(
        "issueUpdate", '{id: $i, title: ""}', CONTRIBUTORS_INVALID, i="issue"
    ),
    "Mutation.issueBatchUpdate": tracker(
        "issueBatchUpdate",
        "{ids: [$i], changes: {priority: LOW}}",
        # The batch names its issues in the payload: one the caller cannot see is NOT_FOUND there.
        {**CONTRIBUTORS_OK, "stranger": "payload:NOT_FOUND"},
        i="issue",
    ),
    "Mutation.issueArchive": tracker("issueArchive", "{id: $i}", CONTRIBUTORS_OK, i="issue"),
    "Mutation.issueUnarchive": tracker("issueUnarchive", "{id: $i}", CONTRIBUTORS_OK, i="issue"),
    "Mutation.issueDelete": tracker(
        "issueDelete",
        "{id: $i}",
        # The issue's creator (the owner here) or ADMIN+.
        {**MANAGERS_OK, "member": "FORBIDDEN"},
        i="issue",
    ),
    "Mutation.notificationMarkRead": tracker(
        "notificationMarkRead",
        "{id: $n}",
        # The member's own: anyone else's is as if it did not exist.
        members_own("payload", others="NOT_FOUND"),
        n="member_notification",
    ),
    "Mutation.notificationMarkAllRead": Case(
        "mutation { notificationMarkAllRead(input: {}) { markedCount errors { code } } }",
        signed_in_only("notificationMarkAllRead"),
    ),
    "Mutation.notificationPreferenceUpdate": Case(
        "mutation { notificationPreferenceUpdate(input: {kind: COMMENTED, email: true}) "
        "{ preference { email } errors { code } } }",
        signed_in_only("notificationPreferenceUpdate"),
    ),
    "Mutation.issueSubscribe": tracker(
        "issueSubscribe", "{issueId: $i}", {**CONTRIBUTORS_OK, "guest": "payload"}, i="issue"
    ),
    "Mutation.issueUnsubscribe": tracker(
        "issueUnsubscribe", "{issueId: $i}", {**CONTRIBUTORS_OK, "guest": "payload"}, i="issue"
    ),
    "Mutation.commentCreate": tracker(
        "commentCreate",
        '{issueId: $i, body: ""}',
        {**CONTRIBUTORS_INVALID, "guest": "payload:INVALID_INPUT"},
        i="issue",
    ),
    "Mutation.commentUpdate": tracker(
        "commentUpdate",
        '{id: $c, body: ""}',
        # The member's own comment: only its author edits it.
        members_own("payload:INVALID_INPUT", others="FORBIDDEN"),
        c="member_comment",
    ),
    "Mutation.commentDelete": tracker(
        "commentDelete", "{id: $c}", {**CONTRIBUTORS_OK}, c="member_comment"
    ),
    "Mutation.labelCreate": tracker(
        "labelCreate", '{workspaceId: $w, name: "", color: "#000000"}', MANAGERS_INVALID, w="acme"
    ),
    "Mutation.labelUpdate": tracker(
        "labelUpdate", '{id: $l, name: ""}', MANAGERS_INVALID, l="label"
    ),
    "Mutation.labelDelete": tracker("labelDelete", "{id: $l}", MANAGERS_OK, l="label"),
    "Mutation.labelReorder": tracker(
        "labelReorder", "{workspaceId: $w, labelIds: []}", MANAGERS_INVALID, w="acme"
    ),
    "Mutation.workflowStateCreate": tracker(
        "workflowStateCreate",
        '{workspaceId: $w, name: "", type: STARTED}',
        MANAGERS_INVALID,
        w="acme",
    ),
    "Mutation.workflowStateUpdate": tracker(
        "workflowStateUpdate", '{id: $s, name: ""}', MANAGERS_INVALID, s="state"
    ),
    "Mutation.workflowStateDelete": tracker(
        "workflowStateDelete",
        "{id: $s}",
        {**MANAGERS_ONLY, "admin": "payload:STATE_IN_USE", "owner": "payload:STATE_IN_USE"},
        s="state",
    ),
    "Mutation.workflowStateReorder": tracker(
        "workflowStateReorder", "{workspaceId: $w, stateIds: []}", MANAGERS_INVALID, w="acme"
    ),
    "Mutation.webhookCreate": tracker(
        "webhookCreate",
        '{workspaceId: $w, url: "", eventTypes: [ISSUE_CREATED]}',
        MANAGERS_INVALID,
        w="acme",
    ),
    "Mutation.webhookUpdate": tracker(
        "webhookUpdate", '{id: $h, url: ""}', MANAGERS_INVALID, h="webhook"
    ),
    "Mutation.webhookDelete": tracker("webhookDelete", "{id: $h}", MANAGERS_OK, h="webhook"),
    "Mutation.webhookSecretRotate": tracker(
        "webhookSecretRotate", "{id: $h, overlapHours: 500}", MANAGERS_INVALID, h="webhook"
    ),
    "Mutation.webhookTest": tracker("webhookTest", "{id: $h}", MANAGERS_OK, h="webhook"),
    "Mutation.webhookDeliveryRetry": tracker(
        "webhookDeliveryRetry", "{id: $d}", MANAGERS_OK, d="webhook_delivery"
    ),
    "Mutation.apiTokenRevoke": Case(
        'mutation { apiTokenRevoke(input: {id: "QXBpVG9rZW46OTk5"}) { errors { code } } }',
        signed_in_only("apiTokenRevoke", errors=("NOT_FOUND",)),
    ),
}


def test_every_root_field_and_mutation_has_a_row():
    schema = build_schema()._schema
    exposed = {
        f"{root.name}.{name}"
        for root in (schema.query_type, schema.mutation_type)
        if root is not None
        for name in root.fields
    }
    assert exposed == set(MATRIX), "add a row to MATRIX for every root field and mutation"


@pytest.fixture
async def credentials(connection) -> dict[str, str | None]:
    """A Bearer credential per actor (inside the test's transaction, rolled back after)."""
    issuer = ISSUER
    ids = {
        actor: await connection.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": email})
        for actor, email in EMAILS.items()
    }
    tokens: dict[str, str | None] = {actor: issuer.issue(ids[actor])[0] for actor in EMAILS}
    tokens["anonymous"] = None
    revoked = new_secret(API_TOKEN_PREFIX)
    await connection.execute(
        text(
            "INSERT INTO api_tokens (user_id, name, scope, token_hash, revoked_at) "
            "VALUES (:user, 'old', 'READ_WRITE', :hash, now())"
        ),
        {"user": ids["owner"], "hash": secret_hash(revoked)},
    )
    tokens["revoked"] = revoked
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    tokens["expired"] = issuer.issue(ids["owner"], now=an_hour_ago)[0]
    return tokens


@pytest.fixture
async def lookups(connection) -> dict[str, str]:
    """Global ids the rows point at."""
    owner_membership = await connection.scalar(
        text(
            "SELECT m.id FROM memberships m JOIN users u ON u.id = m.user_id "
            f"WHERE u.email = :e AND m.workspace_id = {ACME_PK}"
        ),
        {"e": OWNER},
    )
    owner = await connection.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": OWNER})
    member = await connection.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": MEMBER})
    # The first issue is the owner's; the member has a comment on it.
    issue = {"i": ACME_ISSUE_PK}
    await connection.execute(
        text("UPDATE issues SET creator_id = :o WHERE id = :i"), {"o": owner, **issue}
    )
    comment = await connection.scalar(
        text(
            "INSERT INTO comments (workspace_id, issue_id, author_id, body) "
            "VALUES (:w, :i, :m, 'mine') RETURNING id"
        ),
        {"m": member, "w": ACME_PK, **issue},
    )
    notification = await connection.scalar(
        text(
            "INSERT INTO notifications (user_id, workspace_id, kind, issue_id, actor_id) "
            "VALUES (:m, :w, 'ASSIGNED', :i, :o) RETURNING id"
        ),
        {"m": member, "w": ACME_PK, "o": owner, **issue},
    )
    project = await connection.scalar(text("SELECT project_id FROM issues WHERE id = :i"), issue)
    state = await connection.scalar(text("SELECT state_id FROM issues WHERE id = :i"), issue)
    label = await connection.scalar(
        text(f"SELECT min(id) FROM labels WHERE workspace_id = {ACME_PK}")
    )
    webhook = await connection.scalar(
        text(
            "INSERT INTO webhooks (workspace_id, url, event_types, secret) "
            f"VALUES ({ACME_PK}, 'https://hooks.example.com/', ARRAY['issue.created'], "
            "'whsec_dGVzdA==') RETURNING id"
        )
    )
    message = await connection.scalar(
        text(
            "INSERT INTO outbox_messages (kind, target_id, payload, sent_at) "
            "VALUES ('webhook', :h, '{}'::jsonb, now()) RETURNING id"
        ),
        {"h": webhook},
    )
    delivery = await connection.scalar(
        text(
            "INSERT INTO webhook_deliveries (webhook_id, message_id, event_type, attempt, "
            "succeeded) VALUES (:h, :m, 'issue.created', 1, true) RETURNING id"
        ),
        {"h": webhook, "m": message},
    )
    return {
        "webhook": to_global_id("Webhook", webhook),
        "webhook_delivery": to_global_id("WebhookDelivery", delivery),
        "owner_membership": to_global_id("Membership", owner_membership),
        "acme": ACME,
        "issue": ACME_ISSUE,
        "project": to_global_id("Project", project),
        "state": to_global_id("WorkflowState", state),
        "label": to_global_id("Label", label),
        "member_comment": to_global_id("Comment", comment),
        "member_notification": to_global_id("Notification", notification),
    }


@pytest.fixture
async def production_client(make_client) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(BACKLOG_ENV="production") as client:
        yield client


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("field", sorted(MATRIX))
async def test_access(production_client, credentials, lookups, field, actor):
    row = MATRIX[field]
    token = credentials[actor]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    variables = row.variables(lookups) if callable(row.variables) else row.variables
    response = await production_client.post(
        "/graphql", json={"query": row.document, "variables": variables}, headers=headers
    )
    row.check(actor, response)
