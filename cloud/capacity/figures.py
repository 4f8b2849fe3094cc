"""Figures and formats the report's writers share: money, numbers, months, ratios."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hatang.cloud.capacity.model import vcpu_ratio
from hatang.cloud.capacity.months import month_str
from hatang.cloud.capacity.rules import limits

if TYPE_CHECKING:
    from hatang.cloud.capacity.drivers import Driver
    from hatang.cloud.capacity.recommend import Action
    from hatang.cloud.capacity.report import ClusterReport


def vnd(amount: float) -> str:
    """Vietnamese style: 1.150.000.000 ₫."""
    return f"{amount:,.0f}".replace(",", ".") + " ₫"


def billions(amount: float) -> str:
    """1150000000 → '1,15 tỷ đồng' (a committee reads billions)."""
    return f"{amount / 1e9:,.2f}".replace(".", ",") + " tỷ đồng"


def num(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def when(month: int | None, months: list[int]) -> str:
    if month is None:
        return f"not before {month_str(months[-1] + 1)}"
    return "now / ngay bây giờ" if month == months[0] else month_str(month)


def describe(action: Action, spec: str) -> str:
    """One line a committee reads: what is bought or retired."""
    if action.kind == "retire":
        return f"retire {', '.join(action.replaces)} (no successor needed)"
    bought = f"{action.count} × {spec}"
    if action.kind == "replace":
        return f"replace {len(action.replaces)} old node(s) ({', '.join(action.replaces)}) with {bought}"
    return f"add {bought}"


def coefficients(driver: Driver) -> str:
    """What one unit of a driver needs, as the drivers file states it."""
    parts = [f"{driver.per_unit.vcpu:g} vCPU", f"{driver.per_unit.ram_gib:g} GiB"]
    for pool, c in driver.storage.items():
        parts += [f"{c.gb_per_unit:g} GB {pool}"] * bool(c.gb_per_unit) + [f"{c.gb_per_unit_year:g} GB {pool} a year"] * bool(c.gb_per_unit_year)
    return ", ".join(parts)


def unit(resource: str) -> str:
    return {"cpu": "cores", "ram": "GiB"}.get(resource, "GB")


def ratios(report: ClusterReport) -> dict[str, float]:
    """vCPU per physical core today: overall and by service class (of all cores)."""
    demand, cores = report.baseline.demand, report.capacity.cores
    return {"all": vcpu_ratio(demand.total_vcpu, cores), **{c: vcpu_ratio(v, cores) for c, v in sorted(demand.vcpu.items())}}


def min_headroom_after(c: ClusterReport, level: int) -> dict[str, dict[str, Any]]:
    """With the recommended hardware: each resource's smallest headroom over the horizon, and when."""
    result: dict[str, dict[str, Any]] = {}
    for month, need, cluster in zip(c.months, c.needs, c.recommendation.clusters):
        have = limits(cluster, level)
        for resource, value in need.items():
            room = have[resource] - value
            if resource not in result or room < result[resource]["headroom"]:
                result[resource] = {"headroom": room, "month": month_str(month), "limit": have[resource]}
    return result
