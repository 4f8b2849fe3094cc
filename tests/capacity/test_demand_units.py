"""Each month's demand by hand: allocation grown by the trend, drivers added, storage
from the stored-data trend, committed and reserved carried."""

from __future__ import annotations

import dataclasses

import pytest

from hatang.cloud.capacity.demand import Trends, demand_series
from hatang.cloud.capacity.forecast import Line
from hatang.cloud.capacity.model import Demand
from hatang.cloud.capacity.months import parse_month

BASE = parse_month("2026-06")
ALLOCATED = Demand({"critical": 10.0}, 100.0, {"ceph": 500.0}, {"ceph": 800.0}, {"ceph": 300.0})


class Extra:
    """Drivers' stand-in: 1 batch vCPU, 2 GiB and 50 GB more each month after the base."""

    def demand(self, cluster: str, start: int, month: int) -> Demand:
        k = month - start
        return Demand({"batch": 1.0 * k}, 2.0 * k, {"ceph": 50.0 * k}, {"ceph": 50.0 * k})


def test_no_trend_no_drivers_is_the_allocation() -> None:
    (d,) = demand_series(ALLOCATED, Trends({}), None, "c", BASE, [BASE + 3])
    assert d == ALLOCATED


def test_cpu_and_ram_grow_with_their_trends_storage_follows_its_own() -> None:
    """CPU use 20 at the base, +2 a month: 3 months on, ×(26 ÷ 20) = 1.3 → 13 vCPU.
    RAM 50 at the base, −5 a month: ×(35 ÷ 50) = 0.7 → 70 GiB. Stored ceph data: 400 + 10 a
    month → 430 GB; committed and reserved stay as allocated."""
    trends = Trends({"cpu": Line(BASE, 20.0, 2.0), "ram": Line(BASE, 50.0, -5.0), "storage:ceph": Line(BASE, 400.0, 10.0)})
    (d,) = demand_series(ALLOCATED, trends, None, "c", BASE, [BASE + 3])
    assert d.vcpu == {"critical": pytest.approx(13)}
    assert d.ram_gib == pytest.approx(70)
    assert d.storage_gb == {"ceph": pytest.approx(430)}
    assert (d.committed_gb, d.reserved_gb) == ({"ceph": 800.0}, {"ceph": 300.0})


def test_drivers_add_their_change_since_the_base() -> None:
    first, second = demand_series(ALLOCATED, Trends({}), Extra(), "c", BASE, [BASE + 1, BASE + 2])
    assert (first.vcpu, first.ram_gib, first.storage_gb, first.committed_gb) == ({"critical": 10.0, "batch": 1.0}, 102.0, {"ceph": 550.0}, {"ceph": 850.0})
    assert (second.vcpu["batch"], second.ram_gib, second.storage_gb["ceph"]) == (2.0, 104.0, 600.0)


def test_trends_are_values() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Trends({}).lines = {}  # type: ignore[misc]
    assert Trends.fit(None) == Trends({})
