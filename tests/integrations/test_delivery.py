"""A delivery through an in-process worker to a real receiver: what arrives, signed how, and
what each attempt leaves in the database."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from core.ids import to_global_id
from db import outbox
from server.app import create_app
from server.settings import Settings
from server.webhooks import KIND, USER_AGENT
from tests.integrations.conftest import (
    ADMIN_EMAIL,
    OWNER_EMAIL,
    Hooks,
    envelope,
    new_secret,
    payload_of,
)
from tests.support.actors import TEST_JWT_SECRET
from tests.support.processes import free_port
from tests.support.webhook_receiver import WAIT_S, Delivery, Receiver, reply


async def test_a_committed_message_is_delivered_signed_and_recorded(hooks: Hooks):
    secret = new_secret()
    async with Receiver([secret]) as receiver:
        webhook = await hooks.webhook(receiver.url(), secret=secret)
        [message] = await hooks.enqueue(webhook)

        assert await hooks.worker().send_one()
        [delivery] = await receiver.wait_for(1)

    assert delivery.verified_with == (secret,)
    assert delivery.path == "/hook"
    assert delivery.webhook_id == f"msg_{message}"
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.headers["user-agent"] == USER_AGENT
    assert delivery.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert payload_of(delivery.body) == envelope(0)
    assert (await hooks.message(message)).sent_at is not None
    [attempt] = await hooks.attempts(message)
    assert (attempt.webhook_id, attempt.attempt, attempt.event_type) == (
        webhook,
        1,
        "issue.updated",
    )
    assert attempt.succeeded and attempt.status_code == 200 and attempt.error is None
    assert attempt.response_excerpt == "ok" and attempt.latency_ms is not None
    assert attempt.next_retry_at is None


async def test_a_rolled_back_transaction_sends_nothing(hooks: Hooks):
    async with Receiver([new_secret()]) as receiver:
        webhook = await hooks.webhook(receiver.url())
        handle = hooks.database.request_handle()
        try:
            await outbox.enqueue(handle, [outbox.NewMessage(KIND, envelope(), webhook)])
            await handle.rollback()
        finally:
            await handle.close()

        assert not await hooks.worker().send_one()

    assert receiver.connections == 0
    assert await hooks.sql("SELECT id FROM outbox_messages") == []


async def test_a_receiver_that_is_down_gets_the_message_once_it_is_up_and_due(hooks: Hooks):
    port = free_port()  # nothing listens there yet
    secret = new_secret()
    webhook = await hooks.webhook(f"http://127.0.0.1:{port}/hook", secret=secret)
    [message] = await hooks.enqueue(webhook)
    worker = hooks.worker()

    assert await worker.send_one()

    [failed] = await hooks.attempts(message)
    assert not failed.succeeded and failed.status_code is None
    assert failed.error.startswith("connection failed")
    waited = (failed.next_retry_at - failed.attempted_at).total_seconds()
    assert 5 * 0.8 - 0.1 <= waited <= 5 * 1.2 + 0.1  # the schedule's first wait, ±20%
    queued = await hooks.message(message)
    assert queued.sent_at is None and queued.attempts == 1
    assert abs((queued.available_at - failed.next_retry_at).total_seconds()) < 1
    hook = await hooks.one("SELECT failing_since, enabled FROM webhooks WHERE id = :w", w=webhook)
    assert hook.failing_since is not None and hook.enabled
    assert not await worker.send_one(), "the retry is not due yet"

    async with Receiver([secret], port=port) as receiver:
        await hooks.sql("UPDATE outbox_messages SET available_at = now() WHERE id = :m", m=message)
        assert await worker.send_one()
        assert not await worker.send_one()
        [delivery] = await receiver.wait_for(1)

    assert delivery.webhook_id == f"msg_{message}"
    assert (await hooks.message(message)).sent_at is not None
    assert [(a.attempt, a.succeeded) for a in await hooks.attempts(message)] == [
        (1, False),
        (2, True),
    ]
    hook = await hooks.one("SELECT failing_since FROM webhooks WHERE id = :w", w=webhook)
    assert hook.failing_since is None


async def test_a_deleted_webhook_is_given_up(hooks: Hooks):
    webhook = await hooks.webhook("http://127.0.0.1:9/hook")
    [message] = await hooks.enqueue(webhook)
    await hooks.sql("DELETE FROM webhooks WHERE id = :w", w=webhook)

    assert await hooks.worker().send_one()

    gone = await hooks.message(message)
    assert gone.abandoned_at is not None and gone.last_error == "webhook deleted"


async def test_the_previous_secret_signs_too_until_it_expires(hooks: Hooks):
    old, new = new_secret(), new_secret()
    async with Receiver([new, old]) as receiver:
        webhook = await hooks.webhook(
            receiver.url(),
            secret=new,
            previous_secret=old,
            previous_secret_expires_at=datetime(2999, 1, 1, tzinfo=UTC),
        )
        await hooks.enqueue(webhook)
        assert await hooks.worker().send_one()
        await hooks.sql(
            "UPDATE webhooks SET previous_secret_expires_at = now() - interval '1 second' "
            "WHERE id = :w",
            w=webhook,
        )
        await hooks.enqueue(webhook)
        assert await hooks.worker().send_one()
        during, after = await receiver.wait_for(2)

    # Either secret alone verifies a delivery of the overlap: a receiver may switch any time.
    assert during.verified_with == (new, old)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert after.verified_with == (new,)
    assert len(after.headers["webhook-signature"].split(" ")) == 1


async def test_a_webhook_failing_for_days_is_disabled_and_its_administrators_told(hooks: Hooks):
    async def refuse(delivery: Delivery, writer: asyncio.StreamWriter) -> None:
        await reply(writer, 500, b"down for maintenance")

    async with Receiver([new_secret()], answer=refuse) as receiver:
        webhook = await hooks.webhook(receiver.url(), secret=receiver.secrets[0])
        first, second = await hooks.enqueue(webhook, 2)
        await hooks.sql(
            "UPDATE webhooks SET failing_since = now() - interval '5 days 1 minute' WHERE id = :w",
            w=webhook,
        )
        worker = hooks.worker(BACKLOG_WEBHOOK_DISABLE_AFTER_DAYS="5")
        assert await worker.send_one()
        assert await worker.send_one()
        assert len(receiver.received) == 1, "nothing is sent to a disabled webhook"

    hook = await hooks.one("SELECT * FROM webhooks WHERE id = :w", w=webhook)
    assert not hook.enabled
    assert hook.disabled_reason == "its deliveries failed for 5 days (last: HTTP 500)"
    [attempt] = await hooks.attempts(first)
    assert attempt.status_code == 500 and attempt.response_excerpt == "down for maintenance"
    assert attempt.next_retry_at is None
    given_up = await hooks.message(first)
    assert given_up.abandoned_at is not None
    assert given_up.last_error == "HTTP 500; webhook disabled"
    skipped = await hooks.message(second)
    assert skipped.abandoned_at is not None and skipped.last_error == "webhook disabled"
    assert await hooks.attempts(second) == []
    emails = await hooks.sql(
        "SELECT payload FROM outbox_messages WHERE kind = 'email' ORDER BY payload->>'to'"
    )
    assert [email.payload["to"] for email in emails] == [ADMIN_EMAIL, OWNER_EMAIL]
    for email in emails:
        assert email.payload["purpose"] == "webhook_disabled"
        assert email.payload["subject"] == "Webhook disabled in Hooks"
        assert receiver.url() in email.payload["text"]


async def test_a_failure_within_the_grace_period_keeps_the_webhook(hooks: Hooks):
    webhook = await hooks.webhook("http://127.0.0.1:9/hook")
    await hooks.sql(
        "UPDATE webhooks SET failing_since = now() - interval '4 days' WHERE id = :w", w=webhook
    )
    [message] = await hooks.enqueue(webhook)
    assert await hooks.worker().send_one()

    hook = await hooks.one("SELECT * FROM webhooks WHERE id = :w", w=webhook)
    assert hook.enabled and hook.disabled_reason is None
    assert (await hooks.message(message)).abandoned_at is None
    assert await hooks.sql("SELECT id FROM outbox_messages WHERE kind = 'email'") == []


async def test_settled_messages_are_forgotten_after_the_retention(hooks: Hooks):
    webhook = await hooks.webhook("http://127.0.0.1:9/hook")
    old, recent, pending = await hooks.enqueue(webhook, 3)
    await hooks.sql(
        "UPDATE outbox_messages SET sent_at = now() - interval '31 days' WHERE id = :m", m=old
    )
    await hooks.sql("UPDATE outbox_messages SET sent_at = now() WHERE id = :m", m=recent)
    handle = hooks.database.request_handle()
    try:
        await outbox.prune(handle, 30)
        await handle.commit()
    finally:
        await handle.close()

    kept = await hooks.sql("SELECT id FROM outbox_messages ORDER BY id")
    assert [row.id for row in kept] == [recent, pending]


WEBHOOK_DELETE = """mutation ($id: ID!) {
  webhookDelete(input: {id: $id}) { errors { code message } } }"""


async def test_a_webhook_whose_receiver_hangs_can_be_deleted(hooks: Hooks):
    """The delete does not wait for the delivery in flight: it drops what waits, and the
    worker gives up the one it held, finding the webhook gone when it records the attempt."""
    arrived = asyncio.Event()

    async def hang(delivery: Delivery, writer: asyncio.StreamWriter) -> None:
        arrived.set()
        await asyncio.Event().wait()

    async with as_owner(hooks) as run, Receiver([new_secret()], answer=hang) as receiver:
        webhook = await hooks.webhook(receiver.url(), secret=receiver.secrets[0])
        held, waiting = await hooks.enqueue(webhook, 2)
        sending = asyncio.create_task(hooks.worker(BACKLOG_WEBHOOK_TIMEOUT_S="3").send_one())
        await asyncio.wait_for(arrived.wait(), WAIT_S)
        began = time.monotonic()
        answer = await run(WEBHOOK_DELETE, id=to_global_id("Webhook", webhook))
        took = time.monotonic() - began
        assert answer["webhookDelete"]["errors"] == [], answer
        assert took < 2, f"the delete waited {took:.1f} s for the delivery in flight"
        assert await hooks.sql("SELECT id FROM outbox_messages WHERE id = :m", m=waiting) == []
        assert await sending  # the held send timed out, with its webhook gone
    given_up = await hooks.message(held)
    assert given_up.attempts == 1 and given_up.abandoned_at is not None
    assert given_up.last_error == "timed out after 3 s; webhook deleted"
    assert await hooks.sql("SELECT id FROM webhook_deliveries WHERE message_id = :m", m=held) == []


async def test_a_disabled_webhook_still_gets_its_ping(hooks: Hooks):
    """`webhookTest` is how an admin finds out a disabled webhook's receiver works again."""
    async with Receiver([new_secret()]) as receiver:
        webhook = await hooks.webhook(receiver.url(), secret=receiver.secrets[0], enabled=False)
        handle = hooks.database.request_handle()
        try:
            ping = {"type": "webhook.ping", "timestamp": "2026-01-01T00:00:00Z", "data": {}}
            await outbox.enqueue(handle, [outbox.NewMessage(KIND, ping, webhook)])
            await handle.commit()
        finally:
            await handle.close()
        [event] = await hooks.enqueue(webhook)
        worker = hooks.worker()
        assert await worker.send_one() and await worker.send_one()
        [delivery] = await receiver.wait_for(1)
    assert payload_of(delivery.body)["type"] == "webhook.ping"
    assert (await hooks.message(event)).last_error == "webhook disabled"


WEBHOOK_DELIVERY_RETRY = """mutation ($id: ID!) {
  webhookDeliveryRetry(input: {id: $id}) { errors { code message } } }"""


async def test_retrying_a_delivery_in_flight_is_refused_at_once(hooks: Hooks):
    """The worker holds the message while it sends it: the retry does not wait for that."""
    answered: list[int] = []
    arrived = asyncio.Event()

    async def fail_then_hang(delivery: Delivery, writer: asyncio.StreamWriter) -> None:
        if not answered:
            answered.append(500)
            await reply(writer, 500)
            return
        arrived.set()
        await asyncio.Event().wait()

    async with as_owner(hooks) as run, Receiver([new_secret()], answer=fail_then_hang) as receiver:
        webhook = await hooks.webhook(receiver.url(), secret=receiver.secrets[0])
        [message] = await hooks.enqueue(webhook)
        assert await hooks.worker().send_one()
        [attempt] = await hooks.attempts(message)
        await hooks.sql("UPDATE outbox_messages SET available_at = now() WHERE id = :m", m=message)
        sending = asyncio.create_task(hooks.worker(BACKLOG_WEBHOOK_TIMEOUT_S="3").send_one())
        await asyncio.wait_for(arrived.wait(), WAIT_S)
        began = time.monotonic()
        answer = await run(WEBHOOK_DELIVERY_RETRY, id=to_global_id("WebhookDelivery", attempt.id))
        took = time.monotonic() - began
        await sending
    [error] = answer["webhookDeliveryRetry"]["errors"]
    assert error["code"] == "CONFLICT"
    assert took < 2, f"the retry waited {took:.1f} s for the delivery in flight"


@contextlib.asynccontextmanager
async def as_owner(hooks: Hooks) -> AsyncIterator[Callable[..., Awaitable[dict[str, Any]]]]:
    """A function returning a document's data, run as the workspace's owner through the app,
    committing for real. The app is built first, so that a test timing a mutation times the
    request alone."""
    settings = Settings(
        database_url=hooks.url,
        BACKLOG_ENV="development",
        BACKLOG_DEMO_VIEWER=OWNER_EMAIL,
        BACKLOG_JWT_SECRET=TEST_JWT_SECRET,
        BACKLOG_RATE_LIMIT="0",
    )
    app = create_app(settings, database=hooks.database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://backlog.test"
    ) as client:

        async def run(query: str, **variables: Any) -> dict[str, Any]:
            response = await client.post("/graphql", json={"query": query, "variables": variables})
            body = response.json()
            assert "errors" not in body, body
            return dict(body["data"])

        yield run
