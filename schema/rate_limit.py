"""`Query.rateLimit`: what a request cost and what is left of its caller's budget."""

from __future__ import annotations

from datetime import datetime

import strawberry

from core.limits import RateLimitStatus


@strawberry.type(
    description="Your rate limit: points per window, shared by all your sessions and tokens "
    "(by your address when anonymous). A request costs 1 + ⌊objects / 100⌋ points, its "
    "objects counted as the README's cost model says, before it runs."
)
class RateLimit:
    cost: int = strawberry.field(description="What this request cost, in points.")
    limit: int = strawberry.field(description="Your points per window.")
    remaining: int = strawberry.field(
        description="Points left in this window after this request (with several server "
        "processes, within 1% of the limit per process)."
    )
    reset_at: datetime = strawberry.field(
        description="When this window ends and `remaining` is back to `limit`."
    )

    @classmethod
    def from_status(cls, status: RateLimitStatus) -> RateLimit:
        return cls(
            cost=status.cost,
            limit=status.limit,
            remaining=status.remaining,
            reset_at=status.reset_at,
        )
