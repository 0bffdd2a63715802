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
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from db import outbox
from db.session import Database, create_engine
from db.subscriptions import StreamListener

if TYPE_CHECKING:
    from collections.abc import Mapping

    from db.outbox import Message
    from db.session import RequestDatabase
    from server.settings import Settings

logger = logging.getLogger("backlog.outbox")

RETRY_SCHEDULE_S = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
"""The waits before the 2nd, 3rd, ... attempt (Standard Webhooks' schedule): eight attempts
over about 28 hours, each wait drawn within ±20% (`retry_delay`) so that the retries of many
messages that failed together do not come due together."""
JITTER = 0.2
SEND_DEADLINE_S = 15.0
"""The most one send may take, whatever its sender's own timeouts: the message's transaction
stays open meanwhile, and PostgreSQL ends one idle for 20 s (`db.session.create_engine`)."""
FAILURE_PAUSES_S = (0.5, 1.0, 2.0, 5.0)
"""A worker's pauses after the database failed it, the last one repeated."""
PRUNE_EVERY_S = 3600.0


@dataclass(frozen=True, slots=True)
class Sent:
    """Delivered: the message is done."""


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Not delivered, worth trying again: after `delay_s`, or by `RETRY_SCHEDULE_S`."""

    error: str
    delay_s: float | None = None


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Not delivered and never will be (its target is gone, it was refused for good)."""

    error: str


Outcome = Sent | RetryLater | GiveUp


class Sender(Protocol):
    """Sends one kind of message. `db` holds the message locked, in the transaction the outcome
    is recorded in: what the sender writes there (an attempt's record) commits with it."""

    async def __call__(self, db: RequestDatabase, message: Message) -> Outcome: ...


def retry_delay(attempts: int) -> float | None:
    """How long to wait after `attempts` failed attempts; None once the schedule is spent."""
    if attempts > len(RETRY_SCHEDULE_S):
        return None
    base = RETRY_SCHEDULE_S[attempts - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


class OutboxWorker:
    """`concurrency` sends at a time, each on its own pooled connection."""

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

    async def run(self) -> None:
        """Until cancelled."""
        tasks = [asyncio.create_task(self._slot()) for _ in range(self.concurrency)]
        tasks.append(asyncio.create_task(self._prune_forever()))
        if self.listen_url is not None:
            listener = StreamListener(self.listen_url, self._notified, channel=outbox.CHANNEL)
            tasks.append(asyncio.create_task(listener.run()))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _notified(self, _: int | None) -> None:
        self._wake.set()

    async def _slot(self) -> None:
        failures = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()
            try:
                while await self.send_one():
                    pass
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is away: nothing was settled
                if failures == 0:
                    logger.warning("outbox worker: %s; retrying", type(error).__name__)
                await asyncio.sleep(FAILURE_PAUSES_S[min(failures, len(FAILURE_PAUSES_S) - 1)])
                failures += 1

    async def send_one(self) -> bool:
        """Take one due message, send it and record the outcome; False when none was due."""
        db = self.database.request_handle()
        try:
            message = await outbox.take(db)
            if message is None:
                return False
            await _settle(db, message, await self._send(db, message))
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
    # The senders import this module's outcomes: imported here, once this module is whole.
    from server.mail import MailSender

    return {"email": MailSender(settings)}


def outbox_database(settings: Settings) -> Database:
    """The worker's own pool: a send holds its connection for as long as the send takes, which
    must never starve requests."""
    return Database(
        create_engine(
            settings.database_url or "",
            pool_size=settings.outbox_concurrency + 1,
            statement_timeout_ms=settings.statement_timeout_ms,
            application_name="backlog-outbox",
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
