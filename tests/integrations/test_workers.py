"""`backlog worker` processes: one killed mid-delivery loses nothing, and two never deliver one
message at the same moment."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

from tests.integrations.conftest import Hooks, new_secret, start_worker
from tests.support.webhook_receiver import WAIT_S, Delivery, Receiver, accept

Workers = list[subprocess.Popen[bytes]]


async def until(condition, within_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + within_s
    while not await condition():
        assert time.monotonic() < deadline, "not within the deadline"
        await asyncio.sleep(0.05)


async def test_a_worker_killed_mid_delivery_loses_nothing(
    hooks: Hooks, tmp_path: Path, workers: Workers
):
    first_arrived = asyncio.Event()

    async def hold_the_first(delivery: Delivery, writer: asyncio.StreamWriter) -> None:
        if not first_arrived.is_set():
            first_arrived.set()
            await asyncio.Event().wait()  # until the sender is gone
        await accept(delivery, writer)

    async with Receiver([new_secret()], answer=hold_the_first) as receiver:
        webhook = await hooks.webhook(receiver.url(), secret=receiver.secrets[0])
        [message] = await hooks.enqueue(webhook)
        doomed = await start_worker(hooks, tmp_path, workers)
        await asyncio.wait_for(first_arrived.wait(), WAIT_S)

        doomed.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(doomed.wait) == -signal.SIGKILL
        await start_worker(hooks, tmp_path, workers)
        [delivered] = await receiver.wait_for(1)

        async def recorded_sent() -> bool:
            return (await hooks.message(message)).sent_at is not None

        await until(recorded_sent)

    held = receiver.received[0]
    assert delivered.webhook_id == held.webhook_id == f"msg_{message}"
    assert [r.webhook_id for r in receiver.received] == [held.webhook_id] * 2
    # The killed worker's attempt never committed: the survivor's is the first on record.
    [attempt] = await hooks.attempts(message)
    assert attempt.succeeded and attempt.attempt == 1


async def test_two_workers_never_deliver_one_message_at_once(
    hooks: Hooks, tmp_path: Path, workers: Workers
):
    async def slowly(delivery: Delivery, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)  # the receiver's work, to keep deliveries in flight together
        await accept(delivery, writer)

    async with Receiver([new_secret()], answer=slowly) as receiver:
        webhook = await hooks.webhook(receiver.url(), secret=receiver.secrets[0])
        await asyncio.gather(
            *(
                start_worker(hooks, tmp_path, workers, BACKLOG_OUTBOX_CONCURRENCY="4")
                for _ in range(2)
            )
        )
        messages = await hooks.enqueue(webhook, 40)
        await receiver.wait_for(40)

        async def all_sent() -> bool:
            unsent = "SELECT count(*) AS n FROM outbox_messages WHERE sent_at IS NULL"
            return bool((await hooks.one(unsent)).n == 0)

        await until(all_sent)

    assert receiver.overlaps == []
    assert sorted(d.webhook_id for d in receiver.deliveries) == sorted(
        f"msg_{message}" for message in messages
    )
    assert receiver.most_in_flight > 1, "deliveries were in flight together"
    for process in workers:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 10) == 0
