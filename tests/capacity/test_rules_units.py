"""The planner's rule inputs, minimum sizes, limits and storage warnings, unit by unit."""

from __future__ import annotations

import pytest

from hatang.cloud.capacity.model import Demand, allocation_from_vms
from hatang.cloud.capacity.outlook import outlook, storage_warnings
from hatang.cloud.capacity.rules import LEVELS, Rules, limits, minimum_nodes, needs, rule_lines
from hatang.errors import HatangError
from hatang.inventory import model as m

from .test_failure_model import BASE, cluster, guest, host


LIFE = "the service life must be ≥ 1 year, the lead time ≥ 0 months and the buy-ahead window ≥ 1 month"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ratio_limits": {"standard": 4, "batch": 8}}, "no vCPU:core ratio limit for service class 'critical'"),
        ({"ratio_limits": {"critical": 2, "standard": 4, "batch": 8, "gold": 1}}, "unknown service class 'gold' in the ratio limits (known: critical, standard, batch)"),
        ({"ratio_limits": {"critical": 0, "standard": 4, "batch": 8}}, "the vCPU:core ratio limit of critical must be > 0, not 0"),
        ({"policy": 3}, "unknown redundancy policy 3 (known: 0 (N), 1 (N+1), 2 (N+2))"),
        ({"service_life_years": 0}, LIFE),
        ({"lead_time_months": -1}, LIFE),
        ({"buy_ahead_months": 0}, LIFE),
    ],
)
def test_rules_refuse_what_cannot_be_planned(kwargs: dict, message: str) -> None:
    with pytest.raises(HatangError) as exc:
        Rules(**kwargs)
    assert exc.value.message == message


def test_rules_at_their_smallest_are_accepted() -> None:
    rules = Rules(ratio_limits={"critical": 0.5, "standard": 1, "batch": 1}, policy=0, service_life_years=1, lead_time_months=0, buy_ahead_months=1)
    assert (rules.policy, rules.service_life_years, rules.lead_time_months, rules.buy_ahead_months) == (0, 1, 0, 1)


def test_assumed_lists_what_was_not_stated() -> None:
    every = {a.what: (a.value, a.state_at) for a in Rules().assumed()}
    assert every == {
        "vCPU per physical core, critical": ("2", "--ratio"),
        "vCPU per physical core, standard": ("4", "--ratio"),
        "vCPU per physical core, batch": ("8", "--ratio"),
        "redundancy the recommendation keeps": ("N+1", "--policy"),
        "service life of a server": ("5 years", "--service-life"),
        "lead time from order to service": ("6 months", "--lead-time"),
        "demand a purchase covers": ("12 months", "--buy-ahead"),
    }
    stated = Rules(policy=2, stated=frozenset({"--policy", "ratio:batch", "--buy-ahead"}))
    assert [a.what for a in stated.assumed()] == [
        "vCPU per physical core, critical", "vCPU per physical core, standard", "service life of a server", "lead time from order to service"]


def test_rule_text_carries_the_ratio_limits() -> None:
    lines = rule_lines(Rules(ratio_limits={"critical": 1.5, "standard": 3, "batch": 6}))
    assert "trọng yếu ≤ 1.5, tiêu chuẩn ≤ 3, xử lý lô ≤ 6" in lines[1][0]
    assert "critical ≤ 1.5, standard ≤ 3, batch ≤ 6" in lines[1][1]
    assert len(lines) == 6 and all(vi and en and vi != en for vi, en in lines)


def test_minimum_nodes() -> None:
    """policy + 1; Ceph copies + policy with hosts as domains, copies with OSDs; the largest group."""
    nodes = [host(x) for x in "ab"]
    none = cluster(nodes)
    assert [minimum_nodes(none, [], p) for p in LEVELS] == [1, 2, 3]
    ceph = cluster(nodes, m.Storage(name="ceph", type="rbd", replicas=3))
    assert [minimum_nodes(ceph, [], p) for p in LEVELS] == [3, 4, 5]
    by_osd = cluster(nodes, m.Storage(name="ceph", type="rbd", replicas=3, failure_domain="osd"))
    assert [minimum_nodes(by_osd, [], p) for p in LEVELS] == [3, 3, 3]
    nfs = cluster(nodes, m.Storage(name="nfs", type="nfs", raw_gb=10, replicas=4))
    assert minimum_nodes(nfs, [], 1) == 2  # not on the nodes: no floor from it
    group = [guest(f"g{i}", "standard", 10) for i in range(5)]
    spread = [g.model_copy(update={"spec": g.spec.model_copy(update={"anti_affinity": "g"})}) for g in group]
    assert minimum_nodes(none, spread, 1) == 5
    assert minimum_nodes(none, group, 1) == 2  # no group: no floor from it


def test_limits_and_needs_by_resource() -> None:
    """2 hosts of 16 cores, 128 GiB, 1000 GB OSD; 2 replicas, near-full 0.5: N 1000 GB, N+1 at risk (0)."""
    c = cluster([host(x) for x in "ab"], m.Storage(name="ceph", type="rbd", replicas=2, near_full_ratio=0.5))
    assert limits(c, 0) == {"cpu": 32.0, "ram": 256.0, "storage:ceph": pytest.approx(500)}
    assert limits(c, 1) == {"cpu": 16.0, "ram": 128.0, "storage:ceph": 0.0}
    demand = Demand({"critical": 4, "batch": 16}, 40.0, {"ceph": 300.0}, {"ceph": 700.0}, {"ceph": 350.0})
    # cores 4 ÷ 2 + 16 ÷ 8 = 4; storage max(300 used, 350 reserved) = 350
    assert needs(demand, Rules(), c) == {"cpu": 4.0, "ram": 40.0, "storage:ceph": 350.0}


def test_committed_equal_to_usable_is_not_flagged() -> None:
    """4 hosts × 1000 GB, 3 replicas, near-full 0.9: N+1 usable 900 GB; 900 GB committed fits."""
    c = cluster([host(x) for x in "abcd"], m.Storage(name="ceph", type="rbd", replicas=3, near_full_ratio=0.9))
    exact = allocation_from_vms([guest("s", "standard", 900)]).demand
    assert not [w for w in storage_warnings(c, exact) if "committed" in w]
    over = allocation_from_vms([guest("s", "standard", 901)]).demand
    assert [w.split(":")[0] for w in storage_warnings(c, over) if "committed" in w] == ["ceph at N+1"]


def test_outlook_marks_only_pools_at_risk() -> None:
    c = cluster([host(x) for x in "abc"], m.Storage(name="ceph", type="rbd", replicas=3, near_full_ratio=1))
    need = [{"cpu": 1.0, "ram": 1.0, "storage:ceph": 10.0}]
    checks = {(k.resource, k.level): k for k in outlook(c, [BASE + 1], need)}
    assert [checks[("storage:ceph", lv)].at_risk for lv in LEVELS] == [False, True, True]
    assert not checks[("cpu", 1)].at_risk and checks[("cpu", 1)].headroom_pct == pytest.approx(100 * 31 / 32)
    # 3 copies on 3 hosts of 1000 GB hold 1000 GB: 990 left, 99 %
    assert checks[("storage:ceph", 0)].headroom_pct == pytest.approx(99)
    assert (checks[("storage:ceph", 0)].rule, checks[("storage:ceph", 0)].headroom_last) == ("N", 990)


def test_a_pool_with_no_disks_is_empty_not_at_risk() -> None:
    """Local storage declared on nodes without local disks: limit 0, no headroom figure, no
    warning (nothing is committed to it), and not 'at risk' (nothing to re-replicate)."""
    c = cluster([host(x) for x in "ab"], m.Storage(name="local", type="lvmthin", shared=False))
    checks = outlook(c, [BASE + 1], [{"cpu": 0.0, "ram": 0.0, "storage:local": 0.0}])
    local = next(k for k in checks if k.resource == "storage:local" and k.level == 0)
    assert (local.limit, local.at_risk, local.headroom_pct, local.runs_out) == (0.0, False, None, None)
    assert storage_warnings(c, Demand()) == []


def test_every_pool_of_a_level_is_warned_about() -> None:
    """Two pools: 'a' (3 replicas, hosts) at risk at N+1 on 3 hosts; 'b' (OSDs as domains,
    near-full 0.5) holds 2000 × 3 ÷ 3 × 0.5 = 1000 at N and 2000 × 2 ÷ 3 × 0.5 = 666.7 at
    N+1, and has 800 GB committed: over at N+1 only."""
    c = cluster([host(x, (1000, 2)) for x in "abc"], m.Storage(name="a", type="rbd", replicas=3),
                m.Storage(name="b", type="rbd", replicas=3, failure_domain="osd", near_full_ratio=0.5))
    found = storage_warnings(c, Demand(committed_gb={"b": 800.0}))
    assert [w.split(":")[0] for w in found] == ["a at N+1", "b at N+1", "a at N+2", "b at N+2"]  # at N+2 one host: 2 OSDs
    assert "800 GB committed to guests exceeds the 667 GB usable" in found[1]


def test_committed_is_checked_at_n_and_n1_only() -> None:
    """5 hosts × 1000 GB, 3 replicas, near-full 1: N 1666.7, N+1 1333.3, N+2 1000. 1200 GB
    committed exceeds only N+2, which carries no committed warning (the policy's business)."""
    c = cluster([host(x) for x in "abcde"], m.Storage(name="ceph", type="rbd", replicas=3, near_full_ratio=1))
    assert storage_warnings(c, Demand(committed_gb={"ceph": 1200.0})) == []
    assert [w.split(":")[0] for w in storage_warnings(c, Demand(committed_gb={"ceph": 1400.0}))] == ["ceph at N+1"]


def test_rule_values_are_values() -> None:
    import dataclasses

    from hatang.cloud.capacity.outlook import Check

    with pytest.raises(dataclasses.FrozenInstanceError):
        Rules().policy = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Check("cpu", 0, 1.0, 0.0, 0.0, None, False).limit = 2.0  # type: ignore[misc]
