"""What a mutation's changes set off beyond its own rows — webhook deliveries, notifications,
email — written in the mutation's transaction, just before its activity is appended: they commit
with it or not at all, and the outbox worker (`server/worker.py`) sends them after the commit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers.notifications import rules as notifications
from resolvers.webhook_events import enqueue_deliveries

if TYPE_CHECKING:
    from collections.abc import Sequence

    from db.activity import Change
    from resolvers.context import Context


async def react(context: Context, actor_id: int | None, changes: Sequence[Change]) -> None:
    """Called by the mutation runner with every change a mutation is about to commit."""
    if not changes:
        return
    await enqueue_deliveries(context, actor_id, changes)
    await notifications.notify(context, actor_id, changes)
