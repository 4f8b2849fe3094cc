"""Availability arithmetic by hand: one device's figures, pooled groups, and the grouping
of the province's routers (no Prometheus: the figures are given)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hatang.inventory import load
from hatang.monitoring.sla import OBJECTIVE, Figures, SlaReport, as_utc, group


def test_one_devices_figures() -> None:
    """15 s steps, 5760 samples (24 h), 5754 up: 6 samples down = 90 s = 1.5 min.
    Budget 0.1 % of 1440 min = 1.44 min: overspent by 0.06 min → −4.2 % left."""
    f = Figures("cpe", "CPE", up_samples=5754, samples=5760, incidents=2, step_s=15)
    assert f.availability == pytest.approx(5754 / 5760)
    assert (f.downtime_min, f.observed_min) == (pytest.approx(1.5), pytest.approx(1440))
    assert f.budget_left == pytest.approx(1 - 1.5 / ((1 - OBJECTIVE) * 1440))
    assert f.as_dict() == {"key": "cpe", "name": "CPE", "district": "", "availability_pct": 99.8958, "downtime_min": 1.5, "observed_min": 1440.0,
                           "incidents": 2, "error_budget_left_pct": -4.2, "devices": 1}


def test_nothing_observed_has_no_availability() -> None:
    f = Figures("x", "X", step_s=15)
    assert (f.availability, f.budget_left, f.downtime_min) == (None, None, 0)
    assert f.as_dict()["availability_pct"] is None and f.as_dict()["error_budget_left_pct"] is None


def test_pooling_adds_samples_and_incidents() -> None:
    pool = Figures("d", "D", step_s=60, members=0)
    pool.add(Figures("a", "A", up_samples=90, samples=100, incidents=1, step_s=60))
    pool.add(Figures("b", "B", up_samples=100, samples=100, incidents=2, step_s=60))
    assert (pool.up_samples, pool.samples, pool.incidents, pool.availability) == (190, 200, 3, 0.95)


def test_grouping_the_province() -> None:
    """Every router up 99 of 100 samples, but cpe-tich-son 50 and core-iic missing."""
    inv = load(None, "lab")
    by_device = {d.name: Figures(d.name, d.name, up_samples=99, samples=100, step_s=60) for d in inv.routers() if d.name != "core-iic"}
    by_device["cpe-tich-son"].up_samples = 50
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    report = group(inv, by_device, SlaReport(start, start + timedelta(days=1), "http://127.0.0.1:9090", 60))
    assert report.without_data == ["core-iic"]
    assert len(report.devices) == len(inv.routers()) - 1
    assert report.communes[0].key == "tich-son" and report.communes[0].availability == 0.5  # worst first
    assert len(report.communes) == len([d for d in inv.routers() if d.role.value == "commune_cpe"])
    vinh_yen = next(d for d in report.districts if d.key == "vinh-yen")
    members = [d for d in inv.routers() if d.role.value != "core" and inv.sites[d.site].district == "243"]
    assert vinh_yen.members == len(members) and vinh_yen.samples == 100 * len(members)
    assert vinh_yen.up_samples == 99 * len(members) - 49
    assert sorted(s.key for s in report.services) == ["commune_cpe", "district"]  # the core has no data
    data = report.as_dict()
    assert (data["objective_pct"], data["step_s"], data["devices_without_data"]) == (pytest.approx(99.9), 60, ["core-iic"])


def test_naive_times_are_utc() -> None:
    assert as_utc(datetime(2026, 1, 1, 7)) == datetime(2026, 1, 1, 7, tzinfo=timezone.utc)
    assert as_utc(datetime(2026, 1, 1, 7, tzinfo=timezone(timedelta(hours=7)))) == datetime(2026, 1, 1, 0, tzinfo=timezone.utc)
