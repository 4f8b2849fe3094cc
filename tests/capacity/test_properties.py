"""Properties of the forecast: more growth never runs out later; a node more never sooner."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hatang.cloud.capacity.demand import Trends, demand_series
from hatang.cloud.capacity.drivers import Driver, Drivers
from hatang.cloud.capacity.history import Series
from hatang.cloud.capacity.model import Demand
from hatang.cloud.capacity.months import parse_month
from hatang.cloud.capacity.outlook import outlook
from hatang.cloud.capacity.rules import Rules, needs
from hatang.inventory import model as m

BASE = parse_month("2026-06")
MONTHS = list(range(BASE + 1, BASE + 1 + 48))
NEVER = 10**9

nodes = st.builds(
    lambda i, cores, ram, osd: m.Node(name=f"n{i}", cores=cores, ram_gib=ram, disks=(m.Disk(role="osd", kind="ssd", size_gb=osd, count=2),)),
    st.integers(0, 10**6),
    st.integers(4, 64),
    st.integers(32, 1024),
    st.integers(100, 8000),
)
clusters = st.lists(nodes, min_size=2, max_size=6, unique_by=lambda n: n.name).map(
    lambda ns: m.Cluster(name="p", nodes=tuple(ns), storage=(m.Storage(name="ceph", type="rbd", replicas=3), m.Storage(name="nfs", type="nfs", raw_gb=50_000)))
)
allocations = st.builds(
    lambda crit, std, batch, ram, disk: Demand({"critical": crit, "standard": std, "batch": batch}, ram, {"ceph": disk, "nfs": disk}),
    st.integers(0, 200),
    st.integers(0, 400),
    st.integers(0, 400),
    st.integers(1, 2000),
    st.integers(0, 20_000),
)
slopes = st.floats(0, 50, allow_nan=False)


def series(last: dict[str, float], slope: float) -> Series:
    """Twelve months ending at ``last`` (so the base level is the same), rising by ``slope`` a month."""
    return Series("p", BASE - 11, {k: tuple(max(v - slope * (11 - i), 0.0) for i in range(12)) for k, v in last.items()})


def runs_out(cluster: m.Cluster, allocated: Demand, history: Series, drivers: Drivers | None = None) -> dict[tuple[str, int], int]:
    demand = demand_series(allocated, Trends.fit(history), drivers, "p", BASE, MONTHS)
    checks = outlook(cluster, MONTHS, [needs(d, Rules(), cluster) for d in demand])
    return {(c.resource, c.level): NEVER if c.runs_out is None else c.runs_out for c in checks}


LAST = {"cpu": 1000.0, "ram": 1000.0, "storage:ceph": 1000.0, "storage:nfs": 1000.0}


@settings(max_examples=60, deadline=None)
@given(clusters, allocations, slopes, slopes)
def test_more_growth_never_runs_out_later(cluster: m.Cluster, allocated: Demand, slope: float, more: float) -> None:
    slow = runs_out(cluster, allocated, series(LAST, slope))
    fast = runs_out(cluster, allocated, series(LAST, slope + more))
    assert all(fast[key] <= slow[key] for key in slow)


@settings(max_examples=40, deadline=None)
@given(clusters, allocations, st.floats(0, 0.01), st.floats(0, 0.01))
def test_a_bigger_driver_never_runs_out_later(cluster: m.Cluster, allocated: Demand, per_unit: float, extra: float) -> None:
    def driver(k: float) -> Drivers:
        d = Driver.model_validate({"name": "d", "cluster": "p", "class": "critical", "amount": {2026: 10_000, 2031: 90_000}, "per_unit": {"vcpu": k, "ram_gib": k}, "storage": {"ceph": {"gb_per_unit_year": k}}})
        return Drivers(None, (d,))

    history = series(LAST, 1.0)
    small = runs_out(cluster, allocated, history, driver(per_unit))
    big = runs_out(cluster, allocated, history, driver(per_unit + extra))
    assert all(big[key] <= small[key] for key in small)


@settings(max_examples=60, deadline=None)
@given(clusters, allocations, slopes, nodes)
def test_adding_a_node_never_runs_out_sooner(cluster: m.Cluster, allocated: Demand, slope: float, extra: m.Node) -> None:
    bigger = cluster.model_copy(update={"nodes": (*cluster.nodes, extra.model_copy(update={"name": "extra"}))})
    history = series(LAST, slope)
    before = runs_out(cluster, allocated, history)
    after = runs_out(bigger, allocated, history)
    assert all(after[key] >= before[key] for key in before)
