"""When each resource of a cluster runs out under each rule, on a given set of nodes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hatang.cloud.capacity.forecast import EPSILON, first_month_over
from hatang.cloud.capacity.model import Demand, capacity
from hatang.cloud.capacity.months import Month
from hatang.cloud.capacity.rules import LEVELS, limits_of
from hatang.cloud.capacity.storage import AT_RISK
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
    at_risk: bool  # a Ceph pool whose copies no longer fit: no limit, data at risk

    @property
    def rule(self) -> str:
        return LEVELS[self.level]

    @property
    def headroom(self) -> float:
        return self.limit - self.need_first

    @property
    def headroom_pct(self) -> float | None:
        return 100 * self.headroom / self.limit if self.limit and not self.at_risk else None

    @property
    def headroom_last(self) -> float:
        return self.limit - self.need_last


def outlook(cluster: m.Cluster, months: Sequence[Month], needs: Sequence[dict[str, float]], levels: Sequence[int] = tuple(LEVELS)) -> list[Check]:
    """Every resource × level: its limit on ``cluster``'s nodes and the month it runs out."""
    checks = []
    for level in levels:
        cap = capacity(cluster, level)
        for resource, have in limits_of(cap).items():
            series = [need[resource] for need in needs]
            runs_out = first_month_over(months, series, [have] * len(series))
            checks.append(Check(resource, level, have, series[0], series[-1], runs_out, resource.removeprefix("storage:") in cap.storage_at_risk))
    return checks


def storage_warnings(cluster: m.Cluster, allocated: Demand) -> list[str]:
    """What a planner must not miss about storage on today's hardware: pools that cannot
    re-replicate after a loss, and disks committed beyond what is usable at N or N+1."""
    found = []
    for level in LEVELS:
        cap = capacity(cluster, level)
        for storage in cluster.storage:
            pool, usable = storage.name, cap.pools[storage.name].usable_gb
            if cap.pools[pool].at_risk:
                left = cap.pools[pool].domains
                found.append(f"{pool} at {LEVELS[level]}: {AT_RISK} ({left} {storage.failure_domain}(s) left for {cap.pools[pool].copies} copies)")
                continue
            committed = allocated.committed_gb.get(pool, 0.0)
            if level <= 1 and committed > usable + EPSILON:
                found.append(f"{pool} at {LEVELS[level]}: {committed:,.0f} GB committed to guests exceeds the {usable:,.0f} GB usable "
                             "(thin provisioning: the promised disks do not fit if they fill)")
    return found
