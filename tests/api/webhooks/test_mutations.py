"""The webhook mutations: who may use them, what they check, what they write (the secret once,
its rotation, the messages a delete drops, the ping, a redelivery)."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from tests.support.actors import ADMIN, GUEST, MEMBER, OWNER, STRANGER
from tests.support.credentials import signed_in_caller
from tests.support.factories import (
    ACME,
    GLOBEX_PK,
    add_webhook,
    add_webhook_delivery,
    add_webhook_message,
    webhook_messages,
)
from tests.support.graphql import error_codes
from tests.support.ids import pk, to_global_id

WEBHOOK_FIELDS = "id url eventTypes enabled failingSince disabledReason secretRotatedUntil"
CREATE = f"""mutation ($input: WebhookCreateInput!) {{
  webhookCreate(input: $input) {{ webhook {{ {WEBHOOK_FIELDS} }} secret errors {{ code field }} }}
}}"""
UPDATE = f"""mutation ($input: WebhookUpdateInput!) {{
  webhookUpdate(input: $input) {{ webhook {{ {WEBHOOK_FIELDS} }} errors {{ code field }} }}
}}"""
DELETE = """mutation ($id: ID!) {
  webhookDelete(input: {id: $id}) { deletedWebhookId errors { code } } }"""
ROTATE = f"""mutation ($id: ID!, $hours: Int!) {{
  webhookSecretRotate(input: {{id: $id, overlapHours: $hours}}) {{
    webhook {{ {WEBHOOK_FIELDS} }} secret errors {{ code field }} }} }}"""
TEST = (
    """mutation ($id: ID!) { webhookTest(input: {id: $id}) { webhook { id } errors { code } } }"""
)
RETRY = """mutation ($id: ID!) {
  webhookDeliveryRetry(input: {id: $id}) { webhook { id } errors { code field } } }"""
HOOK_URL = "https://hooks.example.com/backlog"
SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{32}$")


def created(body: dict[str, Any], field: str = "webhookCreate") -> dict[str, Any]:
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][field]
    return payload


async def stored(connection, webhook_id: str) -> Any:
    result = await connection.execute(
        text("SELECT * FROM webhooks WHERE id = :id"), {"id": pk(webhook_id)}
    )
    return result.one_or_none()


def new_hook(**fields: Any) -> dict[str, Any]:
    return {
        "input": {"workspaceId": ACME, "url": HOOK_URL, "eventTypes": ["ISSUE_CREATED"], **fields}
    }


@pytest.mark.parametrize("manager", [OWNER, ADMIN])
async def test_a_manager_creates_a_webhook_and_sees_its_secret_once(gql_as, connection, manager):
    payload = created(
        await gql_as(manager)(CREATE, new_hook(eventTypes=["ISSUE_UPDATED", "ISSUE_CREATED"]))
    )

    assert payload["errors"] == []
    webhook = payload["webhook"]
    assert webhook["url"] == HOOK_URL
    assert webhook["eventTypes"] == ["ISSUE_CREATED", "ISSUE_UPDATED"]  # the enum's order
    assert webhook["enabled"] is True
    assert webhook["secretRotatedUntil"] is None
    assert SECRET.match(payload["secret"])
    assert len(base64.b64decode(payload["secret"].removeprefix("whsec_"))) == 24
    row = await stored(connection, webhook["id"])
    assert row.secret == payload["secret"]
    assert row.event_types == ["issue.created", "issue.updated"]
    # No read shows it again: no field of the types holds it.
    listed = await gql_as(manager)(
        """{ workspace(slug: "acme") { webhooks { nodes { id url } } } }"""
    )
    assert {"id": webhook["id"], "url": HOOK_URL} in listed["data"]["workspace"]["webhooks"][
        "nodes"
    ]
    fields = await gql_as(manager)('{ __type(name: "Webhook") { fields { name } } }')
    names = {f["name"] for f in fields["data"]["__type"]["fields"]}
    assert {name for name in names if "secret" in name.lower()} == {"secretRotatedUntil"}
    logged = await connection.scalar(
        text("SELECT action FROM activity WHERE subject_type = 'Webhook' AND subject_id = :id"),
        {"id": pk(webhook["id"])},
    )
    assert logged == "CREATED"


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/backlog",  # production wants https
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10:8443/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://localhost/hook",
        "https://user:secret@hooks.example.com/",
        "ftp://hooks.example.com/",
        "hooks.example.com/backlog",
        "https:///no-host",
        "https://hooks.example.com:port/",
        "https://hooks.example.com/" + "a" * 2048,
        "",
    ],
)
async def test_a_url_that_may_not_be_used_in_production_is_refused(gql_as, connection, url):
    payload = created(await gql_as(ADMIN)(CREATE, new_hook(url=url)))

    assert payload["errors"] == [{"code": "INVALID_INPUT", "field": ["url"]}]
    assert payload["webhook"] is None and payload["secret"] is None
    count = await connection.scalar(text("SELECT count(*) FROM webhooks"))
    assert count == 0


async def test_local_http_urls_are_for_development_or_when_allowed(gql, make_client, connection):
    local = "http://127.0.0.1:9000/hook"
    assert created(await gql(CREATE, new_hook(url=local)))["errors"] == []
    async with make_client(
        BACKLOG_ENV="production", BACKLOG_WEBHOOK_ALLOW_PRIVATE="true"
    ) as client:
        allowed = signed_in_caller(client, connection, OWNER)
        assert created(await allowed(CREATE, new_hook(url=local)))["errors"] == []
        # Still a URL: no credentials in it, an http(s) scheme.
        refused = created(await allowed(CREATE, new_hook(url="http://u:p@127.0.0.1/")))
        assert refused["errors"] == [{"code": "INVALID_INPUT", "field": ["url"]}]


async def test_event_types_are_the_enums_and_at_least_one(gql_as):
    unknown = await gql_as(ADMIN)(CREATE, new_hook(eventTypes=["ISSUE_EXPLODED"]))
    # Refused before anything runs, as every variable that is not of its type.
    assert error_codes(unknown) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "ISSUE_EXPLODED" in unknown["errors"][0]["message"]
    assert unknown.get("data") is None

    none = created(await gql_as(ADMIN)(CREATE, new_hook(eventTypes=[])))
    assert none["errors"] == [{"code": "INVALID_INPUT", "field": ["eventTypes"]}]


@pytest.mark.parametrize(
    ("viewer", "code"), [(MEMBER, "FORBIDDEN"), (GUEST, "FORBIDDEN"), (STRANGER, "NOT_FOUND")]
)
async def test_others_may_not_create_one(gql_as, connection, viewer, code):
    body = await gql_as(viewer)(CREATE, new_hook())

    assert error_codes(body) == [code]
    assert await connection.scalar(text("SELECT count(*) FROM webhooks")) == 0


async def test_an_update_changes_only_what_is_given_and_enabling_clears_the_failure(
    gql_as, connection
):
    hook = await add_webhook(connection, "issue.created", enabled=False)
    await connection.execute(
        text(
            "UPDATE webhooks SET disabled_reason = 'failing for 5 days', "
            "failing_since = now() - interval '5 days' WHERE id = :id"
        ),
        {"id": hook},
    )
    hook_id = to_global_id("Webhook", hook)
    admin = gql_as(ADMIN)

    disabled = created(await admin(UPDATE, {"input": {"id": hook_id}}), "webhookUpdate")
    assert disabled["webhook"]["disabledReason"] == "failing for 5 days"
    changed = created(
        await admin(
            UPDATE,
            {
                "input": {
                    "id": hook_id,
                    "url": "https://other.example.com/in",
                    "eventTypes": ["COMMENT_CREATED", "ISSUE_DELETED"],
                    "enabled": True,
                }
            },
        ),
        "webhookUpdate",
    )

    assert changed["errors"] == []
    assert changed["webhook"] == {
        "id": hook_id,
        "url": "https://other.example.com/in",
        "eventTypes": ["ISSUE_DELETED", "COMMENT_CREATED"],
        "enabled": True,
        "failingSince": None,
        "disabledReason": None,
        "secretRotatedUntil": None,
    }
    entries = await connection.execute(
        text(
            "SELECT field, from_value, to_value FROM activity "
            "WHERE subject_type = 'Webhook' AND subject_id = :id ORDER BY id"
        ),
        {"id": hook},
    )
    assert [tuple(e) for e in entries] == [
        ("url", None, None),  # a URL may hold credentials: not in the log every member reads
        ("eventTypes", "ISSUE_CREATED", "ISSUE_DELETED,COMMENT_CREATED"),
        ("enabled", "false", "true"),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": None}, "url"),
        ({"url": "http://hooks.example.com/"}, "url"),
        ({"eventTypes": []}, "eventTypes"),
        ({"enabled": None}, "enabled"),
    ],
)
async def test_an_update_with_bad_input_changes_nothing(gql_as, connection, change, field):
    hook = await add_webhook(connection, "issue.created")

    payload = created(
        await gql_as(OWNER)(UPDATE, {"input": {"id": to_global_id("Webhook", hook), **change}}),
        "webhookUpdate",
    )

    assert payload["errors"] == [{"code": "INVALID_INPUT", "field": [field]}]
    row = await stored(connection, to_global_id("Webhook", hook))
    assert (row.url, row.event_types, row.enabled) == (HOOK_URL, ["issue.created"], True)


async def test_rotating_the_secret_keeps_the_old_one_signing_for_the_overlap(gql_as, connection):
    first = created(await gql_as(ADMIN)(CREATE, new_hook()))
    hook_id = first["webhook"]["id"]

    rotated = created(
        await gql_as(ADMIN)(ROTATE, {"id": hook_id, "hours": 48}), "webhookSecretRotate"
    )

    assert rotated["errors"] == []
    assert SECRET.match(rotated["secret"]) and rotated["secret"] != first["secret"]
    row = await stored(connection, hook_id)
    assert (row.secret, row.previous_secret) == (rotated["secret"], first["secret"])
    now = await connection.scalar(text("SELECT now()"))
    assert row.previous_secret_expires_at == now + timedelta(hours=48)
    until = datetime.fromisoformat(rotated["webhook"]["secretRotatedUntil"])
    assert until == row.previous_secret_expires_at

    at_once = created(
        await gql_as(ADMIN)(ROTATE, {"id": hook_id, "hours": 0}), "webhookSecretRotate"
    )
    row = await stored(connection, hook_id)
    assert (row.secret, row.previous_secret) == (at_once["secret"], None)
    assert at_once["webhook"]["secretRotatedUntil"] is None

    too_long = created(
        await gql_as(ADMIN)(ROTATE, {"id": hook_id, "hours": 169}), "webhookSecretRotate"
    )
    assert too_long["errors"] == [{"code": "INVALID_INPUT", "field": ["overlapHours"]}]
    assert too_long["secret"] is None
    assert (await stored(connection, hook_id)).secret == at_once["secret"]


async def test_deleting_a_webhook_drops_its_unsent_messages(gql_as, connection):
    hook = await add_webhook(connection, "issue.created")
    other = await add_webhook(connection, "issue.created")
    due = await add_webhook_message(connection, hook)
    sent = await add_webhook_message(connection, hook, sent=True)
    await add_webhook_delivery(connection, hook, sent)
    others = await add_webhook_message(connection, other)
    hook_id = to_global_id("Webhook", hook)

    deleted = created(await gql_as(OWNER)(DELETE, {"id": hook_id}), "webhookDelete")

    assert deleted == {"deletedWebhookId": hook_id, "errors": []}
    assert await stored(connection, hook_id) is None
    assert [m.id for m in await webhook_messages(connection, hook, other)] == [sent, others]
    assert due != sent
    assert await connection.scalar(text("SELECT count(*) FROM webhook_deliveries")) == 0
    again = await gql_as(OWNER)(DELETE, {"id": hook_id})
    assert error_codes(again) == ["NOT_FOUND"]


async def test_a_test_sends_a_ping(gql_as, connection):
    hook = await add_webhook(connection, "issue.created", enabled=False)
    hook_id = to_global_id("Webhook", hook)

    body = created(await gql_as(ADMIN)(TEST, {"id": hook_id}), "webhookTest")

    assert body == {"webhook": {"id": hook_id}, "errors": []}
    (message,) = await webhook_messages(connection, hook)
    assert (message.kind, message.target_id, message.sent_at) == ("webhook", hook, None)
    payload = message.payload
    assert payload["type"] == "webhook.ping"
    assert datetime.fromisoformat(payload["timestamp"]).tzinfo is not None
    assert payload["data"] == {
        "webhook": {"id": hook_id},
        "workspace": {"id": ACME, "slug": "acme"},
    }


async def test_a_delivery_retry_makes_its_message_due_again(gql_as, connection):
    hook = await add_webhook(connection, "issue.created")
    message = await add_webhook_message(connection, hook, sent=True)
    delivery = await add_webhook_delivery(connection, hook, message)

    body = created(
        await gql_as(ADMIN)(RETRY, {"id": to_global_id("WebhookDelivery", delivery)}),
        "webhookDeliveryRetry",
    )

    assert body == {"webhook": {"id": to_global_id("Webhook", hook)}, "errors": []}
    (row,) = await webhook_messages(connection, hook)
    now = await connection.scalar(text("SELECT clock_timestamp()"))
    assert row.sent_at is None and row.abandoned_at is None
    assert row.available_at <= now
    for viewer, code in ((MEMBER, "FORBIDDEN"), (STRANGER, "NOT_FOUND")):
        refused = await gql_as(viewer)(RETRY, {"id": to_global_id("WebhookDelivery", delivery)})
        assert error_codes(refused) == [code]


async def test_other_workspaces_webhooks_are_not_found(gql_as, connection):
    hook = to_global_id(
        "Webhook", await add_webhook(connection, "issue.created", workspace=GLOBEX_PK)
    )

    for document, variables in (
        (UPDATE, {"input": {"id": hook, "enabled": False}}),
        (DELETE, {"id": hook}),
        (ROTATE, {"id": hook, "hours": 1}),
        (TEST, {"id": hook}),
    ):
        assert error_codes(await gql_as(ADMIN)(document, variables)) == ["NOT_FOUND"]
