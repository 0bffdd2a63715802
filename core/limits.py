"""What a request knows of its rate limit, for the `rateLimit` field and the response's
`extensions` (the limiter that fills it in is `server/rate_limit.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    cost: int
    """What this request was charged, in points."""
    limit: int
    """The caller's points per window."""
    remaining: int
    """Points left in the current window, after this request."""
    reset_at: datetime
    """When the current window ends and the budget is whole again."""
