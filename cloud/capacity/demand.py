"""Each month's demand on a cluster: today's allocation grown with the measured trend,
plus the planner's drivers.

- vCPU and RAM are reserved per VM, so their demand is the allocation, scaled by how
  much measured use grows (the fitted trend at the month ÷ the trend at the base month:
  VMs are resized in step with their load, the allocated-to-used ratio stays as today).
- Storage is thin-provisioned, so its demand is the data stored: the fitted trend of
  stored GB where the history has the pool, else the allocated disk size (as if thick).
  The committed (allocated) and reserved sizes are carried beside it, unchanged but for
  the drivers (:class:`.model.Demand`).
- The drivers add their change since the base month (:mod:`.drivers`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hatang.cloud.capacity.drivers import Drivers
from hatang.cloud.capacity.forecast import Line, fit_line, growth_factor
from hatang.cloud.capacity.history import CPU, RAM, STORAGE, Series
from hatang.cloud.capacity.model import Demand
from hatang.cloud.capacity.months import Month


@dataclass(frozen=True)
class Trends:
    """The fitted lines of one cluster's history, by resource key."""

    lines: dict[str, Line]

    @classmethod
    def fit(cls, series: Series | None) -> Trends:
        if series is None:
            return cls({})
        return cls({key: fit_line(series.first, values) for key, values in series.values.items()})


def demand_series(allocated: Demand, trends: Trends, drivers: Drivers | None, cluster: str, base: Month, months: list[Month]) -> list[Demand]:
    """The demand in each of ``months`` (the base month is the last month measured)."""
    grow = {key: _factor(trends, key, base) for key in (CPU, RAM)}
    result = []
    for month in months:
        storage = dict(allocated.storage_gb)
        for key, line in trends.lines.items():
            if key.startswith(STORAGE):
                storage[key.removeprefix(STORAGE)] = line.at(month)
        demand = Demand(
            {c: v * grow[CPU](month) for c, v in allocated.vcpu.items()}, allocated.ram_gib * grow[RAM](month), storage, allocated.committed_gb, allocated.reserved_gb
        )
        result.append(demand + drivers.demand(cluster, base, month) if drivers else demand)
    return result


def _factor(trends: Trends, key: str, base: Month) -> Callable[[Month], float]:
    line = trends.lines.get(key)
    return growth_factor(line, base) if line else (lambda month: 1.0)
