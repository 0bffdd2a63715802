"""The sender of webhook deliveries: outbox messages of kind `webhook`, one per webhook and
event, whose payload is the event's JSON envelope (`{"type", "timestamp", "data"}`).

Each is POSTed as the Standard Webhooks specification has it
(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
`webhook-id` (the message's, the same on every retry, for the receiver to deduplicate),
`webhook-timestamp` and `webhook-signature`, an HMAC-SHA256 of `{id}.{timestamp}.{body}` with
the webhook's secret, and with its previous secret too while a rotation's overlap lasts. Only a
2xx answer is a delivery. Every attempt is recorded (`webhook_deliveries`) in the transaction
that settles the message; a webhook whose deliveries have failed for
BACKLOG_WEBHOOK_DISABLE_AFTER_DAYS is disabled and its workspace's administrators are told by
email. Where a delivery may go is `server/outbound.py`'s business.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import orjson

from auth import policies
from db import outbox
from db import webhooks as webhook_sql
from db.webhooks import Attempt, DeliveryTarget
from resolvers.mail import email_message
from resolvers.webhook_events import PING
from server import outbound
from server.sending import GiveUp, Outcome, RetryLater, Sent, retry_delay

if TYPE_CHECKING:
    import ssl

    from db.outbox import Message
    from db.session import RequestDatabase
    from server.settings import Settings

KIND = "webhook"
USER_AGENT = "Backlog-Webhooks/1"
SECRET_PREFIX = "whsec_"


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of one delivery with one `whsec_` secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def delivery_headers(webhook: DeliveryTarget, message_id: int, body: bytes) -> dict[str, str]:
    webhook_id = f"msg_{message_id}"
    timestamp = int(time.time())
    secrets = [webhook.secret]
    if webhook.previous_secret is not None:
        secrets.append(webhook.previous_secret)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, webhook_id, timestamp, body) for secret in secrets
        ),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class WebhookSender:
    """Sends one delivery (see the module); `tls` is for tests that serve https themselves."""

    def __init__(self, settings: Settings, *, tls: ssl.SSLContext | None = None) -> None:
        self.timeout_s = settings.webhook_timeout_s
        self.allow_private = settings.webhooks_may_reach_private
        self.disable_after_days = settings.webhook_disable_after_days
        self.app_url = settings.app_url.rstrip("/")
        self.tls = tls if tls is not None else outbound.tls_context()

    async def __call__(self, db: RequestDatabase, message: Message) -> Outcome:
        webhook = None
        if message.target_id is not None:
            webhook = await webhook_sql.delivery_target(db, message.target_id)
        if webhook is None:
            return GiveUp("webhook deleted")
        if not webhook.enabled and message.payload.get("type") != PING:
            # A ping still goes: testing a disabled webhook is how one finds out it works again.
            return GiveUp("webhook disabled")
        body = orjson.dumps(message.payload)
        attempt = Attempt(
            webhook_id=webhook.id,
            message_id=message.id,
            event_type=str(message.payload.get("type", "")),
            attempt=message.attempts + 1,
            succeeded=False,
        )
        started = time.perf_counter()
        try:
            response = await outbound.post(
                webhook.url,
                body,
                delivery_headers(webhook, message.id, body),
                timeout_s=self.timeout_s,
                allow_private=self.allow_private,
                tls=self.tls,
            )
        except outbound.Refused as refused:
            return await self._failed(db, message, webhook, attempt, str(refused))
        except outbound.Failed as failed:
            latency = _milliseconds_since(started)
            return await self._failed(
                db, message, webhook, replace(attempt, latency_ms=latency), str(failed)
            )
        attempt = replace(
            attempt,
            status_code=response.status_code,
            latency_ms=_milliseconds_since(started),
            response_excerpt=response.excerpt,
        )
        if 200 <= response.status_code < 300:
            await webhook_sql.record_attempt(db, replace(attempt, succeeded=True))
            await webhook_sql.note_success(db, webhook.id)
            return Sent()
        error = f"HTTP {response.status_code}"
        if 300 <= response.status_code < 400:
            error += ": redirects are not followed"
        return await self._failed(db, message, webhook, attempt, error)

    async def _failed(
        self,
        db: RequestDatabase,
        message: Message,
        webhook: DeliveryTarget,
        attempt: Attempt,
        error: str,
    ) -> Outcome:
        reason = f"its deliveries failed for {self.disable_after_days} days (last: {error})"
        disabled = await webhook_sql.note_failure(db, webhook.id, self.disable_after_days, reason)
        delay = None if disabled else retry_delay(message.attempts + 1)
        if not await webhook_sql.record_attempt(
            db, replace(attempt, error=error, next_retry_in_s=delay)
        ):
            return GiveUp(f"{error}; webhook deleted")
        if disabled:
            await self._tell_administrators(db, webhook, reason)
            return GiveUp(f"{error}; webhook disabled")
        if delay is None:
            return GiveUp(error)
        return RetryLater(error, delay_s=delay)

    async def _tell_administrators(
        self, db: RequestDatabase, webhook: DeliveryTarget, reason: str
    ) -> None:
        found = await webhook_sql.workspace_administrators(
            db, webhook.workspace_id, policies.WEBHOOK_MANAGERS
        )
        if found is None:
            return
        link = f"{self.app_url}/{found.workspace_slug}/settings/webhooks"
        subject = f"Webhook disabled in {found.workspace_name}"
        text = (
            f"The webhook to {webhook.url} in {found.workspace_name} was disabled: {reason}.\n\n"
            f"Nothing is sent to it until it is enabled again: {link}\n"
        )
        body = (
            f"<p>The webhook to <code>{html.escape(webhook.url)}</code> in "
            f"{html.escape(found.workspace_name)} was disabled: {html.escape(reason)}.</p>"
            f'<p>Nothing is sent to it until it is <a href="{html.escape(link)}">enabled '
            "again</a>.</p>"
        )
        await outbox.enqueue(
            db,
            [
                email_message(administrator.email, subject, text, body, purpose="webhook_disabled")
                for administrator in found.administrators
            ],
        )


def _milliseconds_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
