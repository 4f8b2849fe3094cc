"""Prometheus durations as configs write them, each unit and compound forms."""

from __future__ import annotations

import pytest

from hatang.errors import HatangError
from hatang.monitoring.sla import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("5s", 5), ("1m", 60), ("1m30s", 90), ("2h", 7200), ("1h30m", 5400), ("1d", 86400), ("1w", 604800), ("1y", 31_536_000), ("1.5h", 5400), ("1h0m1s", 3601)],
)
def test_units_add_up(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5", "m", "5x", "1m30", "ms"])
def test_not_a_duration(text: str) -> None:
    with pytest.raises(HatangError, match="not a Prometheus duration"):
        parse_duration(text)
