"""Trends fitted to monthly history, and the month a demand first passes a limit.

The trend is an ordinary least-squares straight line through the monthly samples
(``value = intercept + slope × month``): simple, explainable in front of a committee,
and what the hand-checked tests pin. It is extrapolated as is; a shrinking trend is
kept (a planner may see it and judge), but never below zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hatang.cloud.capacity.months import Month

EPSILON = 1e-9  # equal within rounding is still within the limit


@dataclass(frozen=True)
class Line:
    """``value(month) = intercept + slope × (month − origin)``."""

    origin: Month
    intercept: float
    slope: float

    def at(self, month: Month) -> float:
        return max(self.intercept + self.slope * (month - self.origin), 0.0)


def fit_line(first: Month, values: Sequence[float]) -> Line:
    """Least squares through ``values`` sampled at ``first, first + 1, …``.

    slope = Σ(x − x̄)(y − ȳ) ÷ Σ(x − x̄)², intercept = ȳ − slope × x̄ (x counted from
    ``first``). Needs two samples or more.
    """
    n = len(values)
    if n < 2:
        raise ValueError("a trend needs at least two samples")
    x_mean = (n - 1) / 2
    y_mean = sum(values) / n
    sxy = sum((x - x_mean) * (y - y_mean) for x, y in enumerate(values))
    sxx = sum((x - x_mean) ** 2 for x in range(n))
    slope = sxy / sxx
    return Line(first, y_mean - slope * x_mean, slope)


def growth_factor(line: Line, base: Month) -> Callable[[Month], float]:
    """``month ↦ line(month) ÷ line(base)``: how much a resource grows relative to
    ``base``. A trend that is zero at ``base`` gives no growth information: factor 1."""
    at_base = line.at(base)
    if at_base <= 0:
        return lambda month: 1.0
    return lambda month: line.at(month) / at_base


def first_month_over(months: Sequence[Month], demand: Sequence[float], limit: Sequence[float]) -> Month | None:
    """The first month whose demand is above its limit (equal is still within), or None."""
    for month, need, have in zip(months, demand, limit, strict=True):
        if need > have + EPSILON:
            return month
    return None
