"""What a sender tells the outbox worker (`server/worker.py`) about one message, and the retry
schedule: shared by the worker and every sender (`server/webhooks.py`, `server/mail.py`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from db.outbox import Message
    from db.session import RequestDatabase

RETRY_SCHEDULE_S = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
"""The waits before the 2nd, 3rd, ... attempt (Standard Webhooks' schedule): eight attempts
over about 28 hours, each wait drawn within ±20% (`retry_delay`) so that the retries of many
messages that failed together do not come due together."""
JITTER = 0.2
SEND_DEADLINE_S = 15.0
"""The most one send may take, whatever its sender's own timeouts: the message's transaction
stays open meanwhile (the worker's pool lets it idle longer: `server.worker.IDLE_IN_SEND_MS`)."""


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
