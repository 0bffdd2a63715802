"""The outbox worker: sends what mutations wrote to the outbox (`db/outbox.py`), after they
commit — webhook deliveries and email.

`backlog serve` runs one inside each server process (`BACKLOG_OUTBOX_WORKER`); a deployment may
turn that off and run `backlog worker` processes instead. Any number of workers, on any number of
machines, share the work through PostgreSQL alone: each takes a due message with `FOR UPDATE SKIP
LOCKED` and holds it, in an open transaction, while its sender sends it (`Sender`), then records
the outcome and commits. Another worker skips a held message; a worker killed or cut off from the
database mid-send never commits, so the message is due again at once (at-least-once: a receiver
deduplicates by the message's id). Each worker wakes on the outbox's NOTIFY, polls every
`BACKLOG_OUTBOX_POLL_S` for retries that have come due, and recovers by itself when the database
comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from db import outbox
from db.session import Database, DatabaseUnavailableError, StatementTimeoutError, create_engine
from db.subscriptions import StreamListener
from resolvers.mail import KIND as EMAIL
from server.mail import MailSender
from server.sending import (
    SEND_DEADLINE_S,
    GiveUp,
    Outcome,
    RetryLater,
    Sender,
    Sent,
    retry_delay,
)
from server.webhooks import KIND as WEBHOOK
from server.webhooks import WebhookSender

if TYPE_CHECKING:
    from collections.abc import Mapping

    from db.outbox import Message
    from db.session import RequestDatabase
    from server.settings import Settings

logger = logging.getLogger("backlog.outbox")

FAILURE_PAUSES_S = (0.5, 1.0, 2.0, 5.0)
"""A worker's pauses after the database failed it, the last one repeated."""
PRUNE_EVERY_S = 3600.0


class OutboxWorker:
    """At most `concurrency` sends at a time, each on its own pooled connection."""

    def __init__(
        self,
        database: Database,
        senders: Mapping[str, Sender],
        *,
        concurrency: int = 4,
        poll_s: float = 1.0,
        retention_days: int = 30,
        listen_url: str | None = None,
    ) -> None:
        self.database = database
        self.senders = senders
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.retention_days = retention_days
        self.listen_url = listen_url
        self._wake = asyncio.Event()
        self._wake.set()  # a first round at start: what is due already goes now
        self._senders: set[asyncio.Task[None]] = set()
        self._failures = 0

    async def run(self) -> None:
        """Until cancelled. Idle, a worker asks the database once per poll: one sending task
        looks for work, and each message it finds starts another (up to `concurrency`), so a
        burst is sent `concurrency` at a time and a quiet outbox costs one statement."""
        background = [asyncio.create_task(self._prune_forever())]
        if self.listen_url is not None:
            listener = StreamListener(self.listen_url, self._notified, channel=outbox.CHANNEL)
            background.append(asyncio.create_task(listener.run()))
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
                self._wake.clear()
                self._start_sending()
        finally:
            tasks = [*background, *self._senders]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _notified(self, _: int | None) -> None:
        self._wake.set()

    def _start_sending(self) -> None:
        if len(self._senders) < self.concurrency:
            task = asyncio.create_task(self._send_while_due())
            self._senders.add(task)
            task.add_done_callback(self._senders.discard)

    async def _send_while_due(self) -> None:
        try:
            while await self.send_one():
                self._failures = 0
                self._start_sending()
        except Exception as error:  # the database failed it: nothing was settled
            if self._failures == 0:
                logger.warning("outbox worker: %s; retrying", type(error).__name__)
            pause = FAILURE_PAUSES_S[min(self._failures, len(FAILURE_PAUSES_S) - 1)]
            self._failures += 1
            await asyncio.sleep(pause)
            self._wake.set()

    async def send_one(self) -> bool:
        """Take one due message, send it and record the outcome; False when none was due."""
        db = self.database.request_handle()
        try:
            message = await outbox.take(db)
            if message is None:
                return False
            try:
                outcome = await self._send(db, message)
            except (DatabaseUnavailableError, StatementTimeoutError):
                raise  # the database's failure, not the message's: nothing is settled
            except Exception as error:
                # A sender's own failure (a bug, a value it cannot handle) is the message's:
                # counted as a failed attempt in a transaction of its own (the send's may be
                # unusable), so that it is retried on schedule, then given up, and never keeps
                # the messages behind it waiting.
                logger.exception("outbox worker: the %s sender failed", message.kind)
                await db.rollback()
                message = await outbox.take_again(db, message)
                if message is None:
                    return True
                outcome = RetryLater(f"{type(error).__name__}: {error}")
            await _settle(db, message, outcome)
            await db.commit()
            return True
        finally:
            await db.close()

    async def _send(self, db: RequestDatabase, message: Message) -> Outcome:
        sender = self.senders.get(message.kind)
        if sender is None:
            return GiveUp(f"no sender for messages of kind {message.kind!r}")
        try:
            async with asyncio.timeout(SEND_DEADLINE_S):
                return await sender(db, message)
        except TimeoutError:
            return RetryLater(f"not sent within {SEND_DEADLINE_S:g} s")

    async def _prune_forever(self) -> None:
        while True:
            try:
                db = self.database.request_handle()
                try:
                    await outbox.prune(db, self.retention_days)
                    await db.commit()
                finally:
                    await db.close()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("outbox worker: pruning failed: %s", type(error).__name__)
            await asyncio.sleep(PRUNE_EVERY_S)


async def _settle(db: RequestDatabase, message: Message, outcome: Outcome) -> None:
    if isinstance(outcome, Sent):
        await outbox.mark_sent(db, message.id)
        return
    delay = None
    if isinstance(outcome, RetryLater):
        delay = outcome.delay_s
        if delay is None:
            delay = retry_delay(message.attempts + 1)
    if delay is None:
        await outbox.abandon(db, message.id, outcome.error)
    else:
        await outbox.retry_later(db, message.id, outcome.error, delay)


def senders(settings: Settings) -> dict[str, Sender]:
    """The sender of each kind of message."""
    return {WEBHOOK: WebhookSender(settings), EMAIL: MailSender(settings)}


IDLE_IN_SEND_MS = int((SEND_DEADLINE_S + 15) * 1000)
"""The worker's transactions wait, idle, for a whole send: PostgreSQL must not end them first
(whatever `BACKLOG_STATEMENT_TIMEOUT_MS` makes the requests' limit), or a message would be sent
again and again without ever being settled."""


def outbox_database(settings: Settings) -> Database:
    """The worker's own pool: a send holds its connection for as long as the send takes, which
    must never starve requests."""
    return Database(
        create_engine(
            settings.database_url or "",
            pool_size=settings.outbox_concurrency + 1,
            statement_timeout_ms=settings.statement_timeout_ms,
            application_name="backlog-outbox",
            idle_in_transaction_timeout_ms=IDLE_IN_SEND_MS,
        )
    )


def outbox_worker(settings: Settings) -> tuple[OutboxWorker, Database]:
    """A worker as settings describe it, with the pool it owns (to dispose of after it)."""
    database = outbox_database(settings)
    worker = OutboxWorker(
        database,
        senders(settings),
        concurrency=settings.outbox_concurrency,
        poll_s=settings.outbox_poll_s,
        retention_days=settings.outbox_retention_days,
        listen_url=settings.database_url,
    )
    return worker, database
