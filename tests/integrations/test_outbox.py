"""The outbox worker against the real PostgreSQL: what commits is sent, once it commits; what
rolls back is never sent; a failed send is retried on schedule; a send cut short leaves the
message due; two workers never hold one message at once; an idle worker wakes on the commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from db import outbox
from db.migrate import upgrade_to_head
from db.outbox import Message, NewMessage
from db.session import Database, RequestDatabase, create_engine
from server.sending import (
    JITTER,
    RETRY_SCHEDULE_S,
    SEND_DEADLINE_S,
    GiveUp,
    RetryLater,
    Sender,
    Sent,
)
from server.settings import Settings
from server.worker import OutboxWorker, outbox_database
from tests.integrations.conftest import Hooks
from tests.support.postgres import throwaway_embedded_postgres

KIND = "test-outbox"


@pytest.fixture
async def database(hooks: Hooks) -> AsyncIterator[Database]:
    """Committed transactions on the package's own database, whose outbox every test starts
    empty (`empty_outbox`): what a worker here takes is what the test wrote."""
    database = Database(create_engine(hooks.url, pool_size=12))
    try:
        yield database
    finally:
        await database.dispose()


async def write(database: Database, *payloads: dict[str, Any], commit: bool = True) -> None:
    db = database.request_handle()
    try:
        await outbox.enqueue(db, [NewMessage(KIND, payload) for payload in payloads])
        if commit:
            await db.commit()
    finally:
        await db.close()


async def rows(database: Database) -> list[Any]:
    db = database.request_handle()
    try:
        return list(
            await db.fetch_all(
                text(
                    "SELECT id, payload, attempts, sent_at, abandoned_at, last_error, "
                    "available_at - clock_timestamp() AS due_in "
                    "FROM outbox_messages WHERE kind = :kind ORDER BY id"
                ),
                {"kind": KIND},
            )
        )
    finally:
        await db.close()


class Recorder:
    """A sender that keeps what it was given and answers with `outcome`."""

    def __init__(self, outcome: Any = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.outcome = outcome or Sent()
        self.any_sent = asyncio.Event()

    async def __call__(self, db: RequestDatabase, message: Message) -> Any:
        self.sent.append(message.payload)
        self.any_sent.set()
        return self.outcome


def worker(database: Database, sender: Sender, **options: Any) -> OutboxWorker:
    return OutboxWorker(database, {KIND: sender}, **options)


@asynccontextmanager
async def listening_worker(
    database: Database, sender: Sender, listen_url: str
) -> AsyncIterator[None]:
    """A worker running (`run`) meanwhile, polling only every minute: what it sends in time, it
    was woken for by its listener on `listen_url`. Cancelled on the way out."""
    task = asyncio.create_task(worker(database, sender, poll_s=60, listen_url=listen_url).run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_what_commits_is_sent_once_and_what_rolls_back_never(database: Database) -> None:
    await write(database, {"n": 1}, {"n": 2})
    await write(database, {"n": 3}, commit=False)
    recorder = Recorder()
    send = worker(database, recorder)
    while await send.send_one():
        pass
    assert recorder.sent == [{"n": 1}, {"n": 2}]
    assert [(row.attempts, row.sent_at is not None) for row in await rows(database)] == [
        (1, True),
        (1, True),
    ]
    assert not await send.send_one()


async def test_a_failed_send_is_retried_on_schedule_and_then_given_up(database: Database) -> None:
    await write(database, {"n": 1})
    send = worker(database, Recorder(RetryLater("503 from the receiver")))
    assert await send.send_one()
    (row,) = await rows(database)
    assert (row.attempts, row.sent_at, row.abandoned_at) == (1, None, None)
    assert row.last_error == "503 from the receiver"
    first_wait = timedelta(seconds=RETRY_SCHEDULE_S[0])
    assert (
        first_wait * (1 - JITTER) - timedelta(seconds=1) < row.due_in <= first_wait * (1 + JITTER)
    )
    assert not await send.send_one()  # not due yet

    # The last attempt of the schedule fails too: no more retries.
    await _make_due(database, attempts=len(RETRY_SCHEDULE_S))
    assert await send.send_one()
    (row,) = await rows(database)
    assert row.attempts == len(RETRY_SCHEDULE_S) + 1
    assert row.abandoned_at is not None and row.sent_at is None
    assert not await send.send_one()


async def test_a_message_given_up_is_not_taken_again_until_redelivered(database: Database) -> None:
    await write(database, {"n": 1})
    assert await worker(database, Recorder(GiveUp("no such target"))).send_one()
    (row,) = await rows(database)
    assert row.abandoned_at is not None and row.last_error == "no such target"
    recorder = Recorder()
    assert not await worker(database, recorder).send_one()

    db = database.request_handle()
    assert await outbox.redeliver(db, row.id)
    await db.commit()
    await db.close()
    assert await worker(database, recorder).send_one()
    assert recorder.sent == [{"n": 1}]
    (row,) = await rows(database)
    assert row.attempts == 2 and row.sent_at is not None and row.abandoned_at is None


async def test_a_sender_that_fails_holds_up_nothing(database: Database) -> None:
    """A message its sender cannot handle (it raises) counts as a failed attempt, retried on
    schedule: the messages behind it go out meanwhile."""
    await write(database, {"n": "poison"}, {"n": 2}, {"n": 3})
    sent: list[Any] = []

    async def fussy(db: RequestDatabase, message: Message) -> Any:
        if message.payload["n"] == "poison":
            raise AttributeError("no such header")
        sent.append(message.payload["n"])
        return Sent()

    send = worker(database, fussy)
    while await send.send_one():
        pass
    assert sent == [2, 3]
    poison = (await rows(database))[0]
    assert (poison.attempts, poison.sent_at, poison.abandoned_at) == (1, None, None)
    assert poison.last_error == "AttributeError: no such header"
    assert poison.due_in > timedelta(0)


async def test_a_workers_transaction_may_idle_through_a_whole_send(hooks: Hooks) -> None:
    """Even with statement timeouts off (the requests' idle limit then falls to 10 s),
    PostgreSQL does not end a worker's transaction while it waits for a send."""
    database = outbox_database(Settings(database_url=hooks.url, BACKLOG_STATEMENT_TIMEOUT_MS=0))
    db = database.request_handle()
    try:
        idle = await db.scalar(text("SHOW idle_in_transaction_session_timeout"))
    finally:
        await db.close()
        await database.dispose()
    assert idle.endswith("s") and int(idle.removesuffix("s")) > SEND_DEADLINE_S


async def test_a_send_cut_short_leaves_the_message_due(database: Database) -> None:
    await write(database, {"n": 1})
    started = asyncio.Event()

    async def hangs(db: RequestDatabase, message: Message) -> Any:
        started.set()
        await asyncio.Event().wait()

    cut_short = asyncio.create_task(worker(database, hangs).send_one())
    await asyncio.wait_for(started.wait(), 5)
    # While it holds the message, no other worker takes it.
    recorder = Recorder()
    assert not await worker(database, recorder).send_one()
    cut_short.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cut_short
    (row,) = await rows(database)
    assert (row.attempts, row.sent_at) == (0, None)
    assert await worker(database, recorder).send_one()
    assert recorder.sent == [{"n": 1}]


async def test_two_workers_never_hold_one_message_at_once(database: Database) -> None:
    await write(database, *({"n": n} for n in range(30)))
    in_flight: set[int] = set()
    overlaps: list[int] = []
    sent: list[int] = []

    async def slow(db: RequestDatabase, message: Message) -> Any:
        if message.id in in_flight:
            overlaps.append(message.id)
        in_flight.add(message.id)
        await asyncio.sleep(0.01)
        in_flight.discard(message.id)
        sent.append(message.payload["n"])
        return Sent()

    async def drain(one: OutboxWorker) -> None:
        while await one.send_one():
            pass

    workers = [worker(database, slow) for _ in range(2)]
    await asyncio.gather(*(drain(one) for one in workers for _ in range(4)))
    assert overlaps == []
    assert sorted(sent) == list(range(30))


async def test_an_idle_worker_wakes_when_a_message_commits(
    database: Database, hooks: Hooks
) -> None:
    recorder = Recorder()
    # The message can only arrive in time through NOTIFY.
    async with listening_worker(database, recorder, hooks.url):
        # Whether the commit comes before the listener connects (which starts a round) or
        # after (its NOTIFY does), it is sent at once.
        await write(database, {"n": 1})
        await asyncio.wait_for(recorder.any_sent.wait(), 10)
    assert recorder.sent == [{"n": 1}]


async def _make_due(database: Database, *, attempts: int) -> None:
    db = database.request_handle()
    await db.fetch_all(
        text(
            "UPDATE outbox_messages SET available_at = now() - interval '1 second', "
            "attempts = :attempts WHERE kind = :kind"
        ),
        {"attempts": attempts, "kind": KIND},
    )
    await db.commit()
    await db.close()


async def test_a_worker_recovers_by_itself_after_a_database_restart() -> None:
    with throwaway_embedded_postgres("backlog-outbox-") as postgres:
        engine = create_engine(postgres.url, statement_timeout_ms=0)
        await upgrade_to_head(engine)
        await engine.dispose()
        database = Database(create_engine(postgres.url))
        recorder = Recorder()
        try:
            # After the restart, the worker must find its way back through its listener's
            # reconnection, not by chance.
            async with listening_worker(database, recorder, postgres.url):
                await write(database, {"n": 1})
                await asyncio.wait_for(recorder.any_sent.wait(), 10)
                await postgres.restart()
                recorder.any_sent.clear()
                await write(database, {"n": 2})
                await asyncio.wait_for(recorder.any_sent.wait(), 20)
        finally:
            await database.dispose()
    assert recorder.sent == [{"n": 1}, {"n": 2}]
