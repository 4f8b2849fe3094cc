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
    with pytest.raises(ValueError, match="^a trend needs at least two samples$"):
        fit_line(BASE, [5.0])
    # two are enough: the line through both
    line = fit_line(BASE, [4.0, 6.0])
    assert (line.intercept, line.slope) == (pytest.approx(4), pytest.approx(2))


def test_growth_from_a_small_base_still_counts() -> None:
    """0.5 at the base, +0.5 a month: twice as much a month later (only ≤ 0 means no information)."""
    assert growth_factor(Line(BASE, 0.5, 0.5), BASE)(BASE + 1) == pytest.approx(2)


def test_a_line_is_a_value() -> None:
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        Line(BASE, 1.0, 1.0).slope = 2.0  # type: ignore[misc]


def test_first_month_over_equal_is_within() -> None:
    months = [BASE, BASE + 1, BASE + 2]
    assert first_month_over(months, [9, 10, 11], [10, 10, 10]) == BASE + 2
    assert first_month_over(months, [9, 10, 10], [10, 10, 10]) is None
    # within rounding (EPSILON) is equal; beyond it is over
    assert first_month_over([BASE], [10 + 1e-9], [10]) is None
    assert first_month_over([BASE], [10 + 1.5e-9], [10]) == BASE
    with pytest.raises(ValueError):  # demand and limits month by month: the same length
        first_month_over(months, [1, 2], [3, 3, 3])
