"""The province's planned demand drivers and the resources each one asks for.

A planner writes them in a YAML file (see ``examples/drivers.yaml``): each *driver* is a
quantity over the years (online dossiers per year, mailboxes…) with the resources one
unit of it needs; each *new service* is a set of VMs from a start month. Drivers count
only the change from the forecast's first month: the history's trend already carries
today's level, so the trend plus the drivers does not count today's load twice.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from hatang.cloud.capacity.inputs import InputModel, fail, load_yaml_model
from hatang.cloud.capacity.model import Demand
from hatang.cloud.capacity.months import Month, as_year_fraction, parse_month
from hatang.inventory import model as m

ServiceClass = Literal["critical", "standard", "batch"]
MonthText = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


YearPoints = Annotated[dict[int, Annotated[float, Field(ge=0)]], Field(min_length=1)]


def curve_at(points: Mapping[int, float], year: float) -> float:
    """The value at ``year``: linear between the years given, flat before the first and after the last."""
    years = sorted(points)
    if year <= years[0]:
        return points[years[0]]
    if year >= years[-1]:
        return points[years[-1]]
    i = bisect.bisect_right(years, year)
    y0, y1 = years[i - 1], years[i]
    return points[y0] + (points[y1] - points[y0]) * (year - y0) / (y1 - y0)


class PoolCoefficients(InputModel):
    gb_per_unit: float = Field(default=0.0, ge=0, description="GB kept per unit of the quantity (a stock: mailbox quota)")
    gb_per_unit_year: float = Field(default=0.0, ge=0, description="GB added each year per unit (a flow: dossier attachments kept)")


class PerUnit(InputModel):
    vcpu: float = Field(default=0.0, ge=0)
    ram_gib: float = Field(default=0.0, ge=0)


class Driver(InputModel):
    """A quantity that grows (``amount × share`` by year) and what one unit of it needs."""

    name: str
    title: str = ""
    cluster: str
    service_class: ServiceClass = Field(alias="class")
    unit: str = ""
    amount: YearPoints
    share: dict[int, Annotated[float, Field(ge=0, le=1)]] | None = None
    per_unit: PerUnit = PerUnit()
    storage: dict[str, PoolCoefficients] = {}

    def quantity(self, month: Month) -> float:
        year = as_year_fraction(month)
        return curve_at(self.amount, year) * (curve_at(self.share, year) if self.share else 1.0)


class NewVms(InputModel):
    count: int = Field(default=1, ge=1)
    cores: int = Field(gt=0)
    memory_gib: float = Field(gt=0)
    disks: dict[str, Annotated[float, Field(gt=0)]] = {}
    ha: bool = True


class NewService(InputModel):
    name: str
    title: str = ""
    cluster: str
    service_class: ServiceClass = Field(alias="class")
    start: MonthText
    vms: list[NewVms] = Field(min_length=1)

    @property
    def start_month(self) -> Month:
        return parse_month(self.start)


class DriversFile(InputModel):
    drivers: list[Driver] = []
    new_services: list[NewService] = []


@dataclass(frozen=True)
class Drivers:
    """The planner's drivers, checked against the inventory's clusters and pools."""

    path: Path | None
    drivers: tuple[Driver, ...] = ()
    new_services: tuple[NewService, ...] = ()

    def demand(self, cluster: str, start: Month, month: Month) -> Demand:
        """Extra demand on ``cluster`` in ``month`` compared with ``start``."""
        total = Demand()
        for driver in self.drivers:
            if driver.cluster == cluster:
                total = total + driver_demand(driver, start, month)
        for service in self.new_services:
            if service.cluster == cluster and service.start_month <= month:
                total = total + service_demand(service)
        return total


def driver_demand(driver: Driver, start: Month, month: Month) -> Demand:
    """``Δq × per_unit`` for CPU, RAM and stock storage, where Δq is the quantity's
    change since ``start``; flow storage sums ``Δq ÷ 12 × gb_per_unit_year`` over each
    month from ``start`` to ``month``."""
    base = driver.quantity(start)
    delta = driver.quantity(month) - base
    accumulated = sum(driver.quantity(m) - base for m in range(start + 1, month + 1)) / 12
    storage = {pool: delta * c.gb_per_unit + accumulated * c.gb_per_unit_year for pool, c in driver.storage.items()}
    return Demand.of_guests({driver.service_class: delta * driver.per_unit.vcpu}, delta * driver.per_unit.ram_gib, storage, m.storage_sizing(driver.service_class, None))


def service_demand(service: NewService) -> Demand:
    vcpu = float(sum(v.count * v.cores for v in service.vms))
    storage: dict[str, float] = {}
    for vms in service.vms:
        for pool, size in vms.disks.items():
            storage[pool] = storage.get(pool, 0.0) + vms.count * size
    return Demand.of_guests({service.service_class: vcpu}, sum(v.count * v.memory_gib for v in service.vms), storage, m.storage_sizing(service.service_class, None))


def load_drivers(path: Path, clusters: Mapping[str, m.Cluster]) -> Drivers:
    """Read a drivers file; unknown clusters or storage pools are errors with their line."""
    parsed, source = load_yaml_model(path, DriversFile, "drivers file")
    items: list[tuple[str, int, str, Mapping[str, object]]] = [
        *(("drivers", i, d.cluster, d.storage) for i, d in enumerate(parsed.drivers)),
        *(("new_services", i, s.cluster, {p: 0 for v in s.vms for p in v.disks}) for i, s in enumerate(parsed.new_services)),
    ]
    for section, i, cluster_name, pools in items:
        cluster = clusters.get(cluster_name)
        if cluster is None:
            raise fail(source, (section, i, "cluster"), f"unknown cluster {cluster_name!r} (known: {', '.join(sorted(clusters))})", "drivers file")
        known = {s.name for s in cluster.storage}
        for pool in pools:
            if pool not in known:
                raise fail(source, (section, i), f"cluster {cluster_name} has no storage {pool!r} (it has {', '.join(sorted(known))})", "drivers file")
    return Drivers(path, tuple(parsed.drivers), tuple(parsed.new_services))
