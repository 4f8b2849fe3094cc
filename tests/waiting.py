"""The tests' one wait: poll a condition until a deadline (never a busy loop, never unbounded)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def eventually(check: Callable[[], Any], what: str, timeout: float = 60, interval: float = 1.0) -> Any:
    """``check()``'s first true value, polled every ``interval`` seconds; fail the test,
    naming ``what``, once ``timeout`` seconds have passed without one."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(interval)
