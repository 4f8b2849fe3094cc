"""Retry with exponential backoff, for the failures that pass (locks, timeouts)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from hatang.cloud.errors import retryable

T = TypeVar("T")


def with_backoff(action: Callable[[], T], *, attempts: int = 6, first_delay_s: float = 0.25,
                 max_delay_s: float = 4.0, should_retry: Callable[[BaseException], bool] = retryable) -> T:
    """Run ``action``; on a retryable error wait (0.25 s, 0.5 s, 1 s… up to 4 s) and try again."""
    delay = first_delay_s
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as exc:
            if attempt == attempts or not should_retry(exc):
                raise
            time.sleep(delay)
            delay = min(delay * 2, max_delay_s)
    raise AssertionError("unreachable")
