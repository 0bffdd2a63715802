"""A real SMTP server for tests (aiosmtpd, on a localhost port), and the outbox's email
sender run in-process on the test's transaction.

`smtp_server()` collects what it receives into an `Inbox`; `refuse_recipients` makes it answer
RCPT with a given reply ("550 5.1.1 No such user"). `send_due(connection, smtp_url)` runs one
worker step (take a due message, send it, settle it) on the test's connection, so what the
test's requests wrote is sent without being committed.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.session import Database
from server.settings import Settings
from server.worker import OutboxWorker, senders
from tests.support.processes import free_port

HOST = "127.0.0.1"
WAIT_S = 5.0


@dataclass
class Received:
    envelope_to: list[str]
    message: EmailMessage

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None and body.get_content_subtype() == subtype, self.message
        content = body.get_content()
        assert isinstance(content, str)
        return content.replace("\r\n", "\n")  # as sent, not as SMTP carried it

    def link(self, path: str) -> str:
        """The token of the link to `path` in the text part."""
        found = re.search(re.escape(path) + r"\?token=([\w-]+)", self.part("plain"))
        assert found is not None, self.part("plain")
        return found.group(1)


@dataclass
class Inbox:
    """aiosmtpd's handler: keeps every message it accepts."""

    refuse_recipients: str | None = None
    received: list[Received] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.refuse_recipients is not None:
            return self.refuse_recipients
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._arrived:
            self.received.append(Received(list(envelope.rcpt_tos), message))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int) -> list[Received]:
        """The first `count` messages, once they arrived (a failure after WAIT_S)."""
        deadline = time.monotonic() + WAIT_S
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.received)} of {count} messages arrived"
                self._arrived.wait(left)
            return list(self.received[:count])


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"


@contextmanager
def smtp_server(inbox: Inbox | None = None, port: int | None = None) -> Iterator[SmtpServer]:
    inbox = inbox or Inbox()
    port = port or free_port()
    controller = Controller(inbox, hostname=HOST, port=port)
    controller.start()
    try:
        yield SmtpServer(inbox, port)
    finally:
        controller.stop()


async def send_due(connection: AsyncConnection, smtp_url: str | None, **settings: Any) -> bool:
    """One worker step on the test's transaction, with the senders settings make; False when
    nothing was due."""
    config = Settings(BACKLOG_SMTP_URL=smtp_url, **settings)
    worker = OutboxWorker(Database.sharing(connection), senders(config))
    return await worker.send_one()


async def settle_earlier_messages(connection: AsyncConnection) -> None:
    """What other tests committed to the outbox is not this test's to send (rolled back)."""
    await connection.execute(
        text(
            "UPDATE outbox_messages SET sent_at = now() "
            "WHERE sent_at IS NULL AND abandoned_at IS NULL"
        )
    )


async def outbox_emails(connection: AsyncConnection) -> list[Any]:
    """The email messages of the outbox (this test's, after `settle_earlier_messages`)."""
    rows = await connection.execute(
        text(
            "SELECT id, payload, attempts, sent_at, abandoned_at, available_at, last_error, "
            "available_at > clock_timestamp() AS waiting "
            "FROM outbox_messages WHERE kind = 'email' "
            "AND created_at >= (SELECT now()) ORDER BY id"
        )
    )
    return list(rows)
