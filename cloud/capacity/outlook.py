"""When each resource of a cluster runs out under each rule, on a given set of nodes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hatang.cloud.capacity.forecast import first_month_over
from hatang.cloud.capacity.months import Month
from hatang.cloud.capacity.rules import LEVELS, limits
from hatang.inventory import model as m


@dataclass(frozen=True)
class Check:
    """One resource under one redundancy level, over the forecast."""

    resource: str
    level: int
    limit: float
    need_first: float
    need_last: float
    runs_out: Month | None

    @property
    def rule(self) -> str:
        return LEVELS[self.level]

    @property
    def headroom(self) -> float:
        return self.limit - self.need_first

    @property
    def headroom_pct(self) -> float | None:
        return 100 * self.headroom / self.limit if self.limit else None

    @property
    def headroom_last(self) -> float:
        return self.limit - self.need_last


def outlook(cluster: m.Cluster, months: Sequence[Month], needs: Sequence[dict[str, float]], levels: Sequence[int] = tuple(LEVELS)) -> list[Check]:
    """Every resource × level: its limit on ``cluster``'s nodes and the month it runs out."""
    checks = []
    for level in levels:
        limit = limits(cluster, level)
        for resource, have in limit.items():
            series = [need[resource] for need in needs]
            runs_out = first_month_over(months, series, [have] * len(series))
            checks.append(Check(resource, level, have, series[0], series[-1], runs_out))
    return checks
