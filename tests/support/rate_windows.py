"""Rate-limit windows are fixed, counted from the epoch: a test that spends a budget over a few
requests and straddles two windows sees its budget renewed halfway."""

from __future__ import annotations

import time

from server.settings import Settings

DEFAULT_WINDOW_S: int = Settings.model_fields["rate_limit_window_s"].default
"""`BACKLOG_RATE_LIMIT_WINDOW_S` when a test does not set it."""


def wait_out_the_window_if_it_is_ending(
    window_s: int = DEFAULT_WINDOW_S, *, margin_s: float = 3
) -> None:
    """Sleeps into the next window when fewer than `margin_s` seconds of this one are left."""
    left = window_s - time.time() % window_s
    if left < margin_s:
        time.sleep(left + 0.1)
