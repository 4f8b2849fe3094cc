"""The trend's edges: a falling line stops at zero, growth from a zero base, equal is within."""

from __future__ import annotations

import pytest

from hatang.cloud.capacity.forecast import Line, fit_line, first_month_over, growth_factor
from hatang.cloud.capacity.months import parse_month

BASE = parse_month("2026-01")


def test_a_falling_trend_is_clamped_at_zero() -> None:
    # 30, 20, 10: slope −10 a month, 0 at BASE + 3 and below after; demand is never negative.
    line = fit_line(BASE, [30, 20, 10])
    assert (line.slope, line.at(BASE + 2)) == (pytest.approx(-10), pytest.approx(10))
    assert line.at(BASE + 3) == pytest.approx(0)
    assert line.at(BASE + 7) == 0.0


def test_growth_factor_relative_to_the_base() -> None:
    line = Line(BASE, 100.0, 5.0)  # 100 at BASE, 5 more each month
    assert growth_factor(line, BASE)(BASE + 4) == pytest.approx(120 / 100)
    assert growth_factor(Line(BASE, 0.0, 0.0), BASE)(BASE + 12) == 1.0  # no information: no growth


def test_a_trend_needs_two_samples() -> None:
    with pytest.raises(ValueError):
        fit_line(BASE, [5.0])


def test_first_month_over_equal_is_within() -> None:
    months = [BASE, BASE + 1, BASE + 2]
    assert first_month_over(months, [9, 10, 11], [10, 10, 10]) == BASE + 2
    assert first_month_over(months, [9, 10, 10], [10, 10, 10]) is None
