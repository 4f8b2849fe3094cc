"""Known answers for a small cluster, worked out by hand in each test."""

from __future__ import annotations

import pytest

from hatang.cloud.capacity.catalog import NodeSpec, Spec
from hatang.cloud.capacity.demand import Trends, demand_series
from hatang.cloud.capacity.forecast import fit_line, first_month_over
from hatang.cloud.capacity.history import Series
from hatang.cloud.capacity.model import allocation_from_vms, capacity, vcpu_ratio
from hatang.cloud.vcpu import cores_needed
from hatang.cloud.capacity.months import month_str, parse_month
from hatang.cloud.capacity.outlook import outlook
from hatang.cloud.capacity.recommend import recommend
from hatang.cloud.capacity.rules import Rules, needs
from hatang.inventory import model as m

from .conftest import small_cluster, small_vms

BASE = parse_month("2026-04")


def test_capacity_after_losing_the_largest_nodes() -> None:
    cluster = small_cluster()
    # N: 16+16+24 = 56 cores, 112 threads, 128+128+192 = 448 GiB; OSD raw 2000+2000+4000 = 8000 GB
    # on six OSDs (4 × 1000, 2 × 2000), 3 replicas on distinct OSDs: no OSD holds more than a
    # third of 8000, so usable = 8000 ÷ 3 × 0.8 near-full = 2133.33 GB.
    n = capacity(cluster)
    assert (n.cores, n.threads, n.ram_gib) == (56, 112, 448)
    assert n.storage_raw_gb["ceph"] == 8000
    assert n.storage_usable_gb["ceph"] == pytest.approx(8000 / 3 * 0.8)
    # N+1 loses c (the largest by cores, RAM and OSD): 32 cores, 256 GiB, raw 4000 on 4 OSDs → 1066.67.
    n1 = capacity(cluster, 1)
    assert (n1.nodes, n1.cores, n1.ram_gib, n1.storage_raw_gb["ceph"]) == (2, 32, 256, 4000)
    assert n1.storage_usable_gb["ceph"] == pytest.approx(4000 / 3 * 0.8)
    # N+2 loses c and one of a/b: 16 cores, 128 GiB; 2 OSDs left cannot hold 3 replicas.
    n2 = capacity(cluster, 2)
    assert (n2.cores, n2.ram_gib, n2.storage_at_risk, n2.storage_usable_gb["ceph"]) == (16, 128, {"ceph"}, 0)


def test_ceph_with_hosts_as_failure_domains() -> None:
    n, n1, n2 = (capacity(small_cluster("host"), lost) for lost in (0, 1, 2))
    # 3 replicas on 3 hosts: every host holds one copy of everything, so the smallest host
    # (2000 GB) bounds the data, not 8000 ÷ 3 = 2667: usable 2000 × 0.8 near-full = 1600 GB.
    assert n.storage_usable_gb["ceph"] == pytest.approx(2000 * 0.8) and not n.storage_at_risk
    # N+1: 2 hosts cannot hold 3 replicas; N+2: 1 host. Raw disk is still counted.
    assert (n1.storage_at_risk, n1.storage_usable_gb["ceph"], n1.storage_raw_gb["ceph"]) == ({"ceph"}, 0, 4000)
    assert n2.storage_at_risk == {"ceph"}


def test_allocation_and_ratios() -> None:
    alloc = allocation_from_vms(small_vms())
    # vCPU: critical 2 × 8 = 16, standard 3 × 8 = 24, batch 16; total 56 on 56 cores → 1.0 vCPU per core.
    assert dict(alloc.demand.vcpu) == {"critical": 16, "standard": 24, "batch": 16}
    assert vcpu_ratio(alloc.demand.total_vcpu, 56) == 1.0
    # cores needed under the class limits: 16 ÷ 2 + 24 ÷ 4 + 16 ÷ 8 = 8 + 6 + 2 = 16.
    assert cores_needed(alloc.demand.vcpu, Rules().ratio_limits) == 16
    # with critical limited to 1 vCPU per core instead: 16 + 6 + 2 = 24.
    assert cores_needed(alloc.demand.vcpu, {"critical": 1, "standard": 4, "batch": 8}) == 24
    # RAM 2 × 32 + 3 × 16 + 64 = 176 GiB; disk 2 × 100 + 3 × 50 + 200 = 550 GB; 5 of 6 VMs are HA.
    assert alloc.demand.ram_gib == 176
    assert alloc.demand.storage_gb == {"ceph": 550}
    assert (alloc.vms, alloc.ha_vms) == (6, 5)


def test_rules_today_n1_holds_n2_does_not() -> None:
    cluster, alloc = small_cluster(), allocation_from_vms(small_vms())
    months = [BASE + 1]
    need = [needs(alloc.demand, Rules(), cluster)]
    checks = {(c.resource, c.level): c for c in outlook(cluster, months, need)}
    # N+1: 16 cores ≤ 32 and 176 GiB ≤ 256 → nothing runs out; headroom RAM 256 − 176 = 80 GiB.
    assert checks[("cpu", 1)].runs_out is None and checks[("ram", 1)].runs_out is None
    assert checks[("ram", 1)].headroom == 80
    # N+2: 16 cores ≤ 16 holds (equal is within); 176 GiB > 128 is short now.
    assert checks[("cpu", 2)].runs_out is None
    assert checks[("ram", 2)].runs_out == months[0]


def test_least_squares_line() -> None:
    # y = 1, 3, 2, 6 at x = 0..3: x̄ = 1.5, ȳ = 3; Σ(x−x̄)(y−ȳ) = 3 + 0 − 0.5 + 4.5 = 7; Σ(x−x̄)² = 5.
    line = fit_line(BASE, [1, 3, 2, 6])
    assert line.slope == pytest.approx(7 / 5)
    assert line.intercept == pytest.approx(3 - 1.4 * 1.5)
    assert line.at(BASE + 4) == pytest.approx(0.9 + 1.4 * 4)


def test_exhaustion_month_from_a_linear_trend() -> None:
    """RAM used 100, 104, 108, 112 GiB in 2026-01..04: +4 GiB a month, 112 at the base.

    RAM demand k months after the base = 176 × (112 + 4k) ÷ 112.
    N+1 (256 GiB): 112 + 4k > 256 × 112 ÷ 176 = 162.9 → k > 12.7 → k = 13 → 2027-05.
    N (448 GiB): 112 + 4k > 448 × 112 ÷ 176 = 285.1 → k > 43.3 → k = 44 → 2029-12.
    Storage stored 500, 510, 520, 530 GB: 530 + 10k > 1066.67 (N+1) → k > 53.7 → k = 54 → 2030-10.
    CPU use is flat (10 cores): vCPU demand stays 16 cores, nothing runs out.
    """
    cluster, alloc = small_cluster(), allocation_from_vms(small_vms())
    series = Series("small", parse_month("2026-01"), {"cpu": (10, 10, 10, 10), "ram": (100, 104, 108, 112), "storage:ceph": (500, 510, 520, 530)})
    months = list(range(BASE + 1, BASE + 1 + 60))
    demand = demand_series(alloc.demand, Trends.fit(series), None, "small", BASE, months)
    need = [needs(d, Rules(), cluster) for d in demand]
    checks = {(c.resource, c.level): c for c in outlook(cluster, months, need)}
    assert month_str(checks[("ram", 1)].runs_out) == "2027-05"
    assert month_str(checks[("ram", 0)].runs_out) == "2029-12"
    assert month_str(checks[("storage:ceph", 1)].runs_out) == "2030-10"
    assert checks[("cpu", 0)].runs_out is None and checks[("cpu", 1)].runs_out is None
    assert first_month_over([1, 2, 3], [5, 6, 7], [6, 6, 6]) == 3


def trended_needs(cluster: m.Cluster) -> tuple[list[int], list[dict[str, float]]]:
    """The small cluster's needs for 60 months with the RAM trend above (+4 GiB a month from 112)."""
    series = Series("small", parse_month("2026-01"), {"cpu": (10, 10, 10, 10), "ram": (100, 104, 108, 112), "storage:ceph": (500, 510, 520, 530)})
    months = list(range(BASE + 1, BASE + 1 + 60))
    demand = demand_series(allocation_from_vms(small_vms()).demand, Trends.fit(series), None, "small", BASE, months)
    return months, [needs(d, Rules(), cluster) for d in demand]


SMALL_NODE = NodeSpec("small-node", Spec(model="test", cores=16, ram_gib=128, disks=(m.Disk(role="osd", kind="ssd", size_gb=1000, count=2),), price_vnd=500_000_000))


def test_recommendation_adds_nodes_when_n1_breaks() -> None:
    """Buy a = (16 cores, 128 GiB, 2 × 1000 GB) at 500 M VND, 6 months' lead time, each purchase
    to last 12 months. RAM need k months after the base: 176 × (112 + 4k) ÷ 112.

    N+1 RAM with j nodes added (c, the largest, lost): 256 + 128j GiB.
    k = 13 (2027-05): 257.7 > 256, short; the next 12 months (k = 13…24) need at most
    176 × 208 ÷ 112 = 326.9 ≤ 384 → one node. 384 lasts until 112 + 4k > 244.4 → k = 34 (2029-02):
    k = 34…45 need at most 458.9 ≤ 512 → one node. 512 lasts until k = 54 (2030-10): k = 54…59
    need at most 176 × 348 ÷ 112 = 546.9 ≤ 640 → one node. Storage with the added OSDs never runs short.
    """
    cluster = small_cluster()
    months, need = trended_needs(cluster)
    rec = recommend(cluster, months, need, Rules(lead_time_months=6), SMALL_NODE)
    assert [(a.kind, month_str(a.month), month_str(a.order_by), a.count) for a in rec.actions] == [
        ("add", "2027-05", "2026-11", 1),
        ("add", "2029-02", "2028-08", 1),
        ("add", "2030-10", "2030-04", 1),
    ]
    assert rec.cost_vnd == 1_500_000_000
    assert rec.unresolved == ()
    assert len(rec.clusters[-1].nodes) == 6


def test_buying_two_years_ahead_buys_fewer_times() -> None:
    """Same, each purchase to last 24 months: at k = 13 the need of k = 13…36 peaks at
    176 × 256 ÷ 112 = 402.3 > 384 → two nodes (512 GiB), which last until k = 54 (515.4 > 512):
    k = 54…59 peak at 546.9 ≤ 640 → one node."""
    cluster = small_cluster()
    months, need = trended_needs(cluster)
    rec = recommend(cluster, months, need, Rules(buy_ahead_months=24), SMALL_NODE)
    assert [(a.kind, month_str(a.month), a.count) for a in rec.actions] == [("add", "2027-05", 2), ("add", "2030-10", 1)]


def test_recommendation_replaces_nodes_past_service_life() -> None:
    """b bought 2020, service life 5: it leaves in January 2025, before the start, so it is
    replaced at the start (late); a bought 2022 leaves 2027-01; c has no purchase year.
    The cluster may not go below 3 nodes (say, 3 Ceph replicas): each leaver gets a successor."""
    cluster = small_cluster()
    nodes = (cluster.nodes[0].model_copy(update={"purchased": 2022}), cluster.nodes[1].model_copy(update={"purchased": 2020}), cluster.nodes[2])
    cluster = cluster.model_copy(update={"nodes": nodes})
    months = list(range(BASE + 1, BASE + 13))
    need = [needs(allocation_from_vms(small_vms()).demand, Rules(), cluster)] * len(months)
    rec = recommend(cluster, months, need, Rules(), SMALL_NODE, min_nodes=3)
    assert [(a.kind, month_str(a.month), a.replaces, a.count, a.late) for a in rec.actions] == [
        ("replace", "2026-05", ("b",), 1, True),
        ("replace", "2027-01", ("a",), 1, False),
    ]
    assert {n.name for n in rec.clusters[-1].nodes} == {"c", "small-new-01", "small-new-02"}
    # without the floor each successor is still bought, now because N+1 needs it: with c
    # lost, the one 128 GiB node left cannot hold 176 GiB; two (256 GiB) can
    lean = recommend(cluster, months, need, Rules(), SMALL_NODE)
    assert [(a.kind, a.count, a.reason.split(":")[0]) for a in lean.actions] == [("replace", 1, "past service life")] * 2


def test_old_nodes_are_replaced_by_fewer_bigger_ones() -> None:
    """Four old 16-core nodes all past their life; the new spec has 64 cores, 512 GiB,
    4 × 2000 GB OSD. Needs: 16 cores, 176 GiB, 550 GB. The floor is 3 nodes; three new nodes
    give under N+1 128 cores, 1024 GiB, 16000 ÷ 3 × 0.8 = 4266.7 GB: enough, so 4 become 3."""
    old = [m.Node(name=f"old-{i}", cores=16, ram_gib=128, purchased=2019, disks=(m.Disk(role="osd", kind="ssd", size_gb=1000, count=2),)) for i in range(4)]
    cluster = small_cluster().model_copy(update={"nodes": tuple(old)})
    big = NodeSpec("big", Spec(model="big", cores=64, ram_gib=512, disks=(m.Disk(role="osd", kind="nvme", size_gb=2000, count=4),), price_vnd=1_000_000_000))
    need = [needs(allocation_from_vms(small_vms()).demand, Rules(), cluster)] * 12
    rec = recommend(cluster, list(range(BASE + 1, BASE + 13)), need, Rules(), big, min_nodes=3)
    assert [(a.kind, a.count, len(a.replaces)) for a in rec.actions] == [("replace", 3, 4)]
    assert rec.cost_vnd == 3_000_000_000
    # with no floor beyond N+1 (2 nodes), two are enough: 64 cores and 512 GiB survive a loss,
    # and the 4 OSDs of the survivor hold 3 replicas of 550 GB (min(8000 ÷ 3, 6000 ÷ 2, 4000) × 0.8)
    assert [(a.kind, a.count) for a in recommend(cluster, list(range(BASE + 1, BASE + 13)), need, Rules(), big).actions] == [("replace", 2)]


def test_storage_that_nodes_cannot_cure_is_reported() -> None:
    cluster = small_cluster().model_copy(update={"storage": (m.Storage(name="nfs", type="nfs", raw_gb=1000, near_full_ratio=0.9),)})
    months = list(range(BASE + 1, BASE + 4))
    # 950 GB stored on a 900 GB usable NFS share (1000 × 0.9): a node cannot help.
    need = [{"cpu": 1.0, "ram": 1.0, "storage:nfs": 950.0}] * 3
    rec = recommend(cluster, months, need, Rules(), NodeSpec("n", Spec(model="t", cores=8, ram_gib=64, price_vnd=1)))
    assert rec.actions == ()
    assert [(s.resource, s.month, s.limit) for s in rec.unresolved] == [("storage:nfs", months[0], pytest.approx(900))]


def test_a_node_past_its_life_leaves_without_successor_when_not_needed() -> None:
    """a, b, c plus d (16 cores, 128 GiB, bought 2019): d leaves at the start; a, b, c still
    give N+1 (c lost: 32 cores ≥ 16, 256 GiB ≥ 176, 2000 × 2 ÷ 3 × 0.8 = 1066.7 GB ≥ 550) and the
    3-node floor: nothing to buy."""
    cluster = small_cluster()
    cluster = cluster.model_copy(update={"nodes": (*cluster.nodes, cluster.nodes[0].model_copy(update={"name": "d", "purchased": 2019}))})
    need = [needs(allocation_from_vms(small_vms()).demand, Rules(), cluster)] * 3
    rec = recommend(cluster, list(range(BASE + 1, BASE + 4)), need, Rules(), SMALL_NODE, min_nodes=3)
    assert [(a.kind, a.replaces, a.count, a.cost_vnd, a.late) for a in rec.actions] == [("retire", ("d",), 0, 0, False)]
