"""Placement: RAM never overcommitted, vCPU ratios per class, anti-affinity, N+1, determinism."""

from __future__ import annotations

import random

from hatang.cloud.desired import DesiredVm, Nic
from hatang.cloud.placement import NodeCapacity, core_share, place

GIB = 1024


def vm(name: str, memory_gib: int, cores: int = 2, klass: str = "standard", group: str | None = None, ha: bool = True) -> DesiredVm:
    return DesiredVm(name, "svc", klass, "c", "qemu", "tpl", cores, memory_gib * GIB, (("s", 10),), (Nic(110),), ha, group, "u", "k")


def nodes(count: int, ram_gib: int = 64, cores: int = 16) -> list[NodeCapacity]:
    return [NodeCapacity(f"n{i}", ram_gib * GIB, cores) for i in range(1, count + 1)]


def test_ram_is_never_overcommitted():
    # usable per node: 64 GiB - 8 GiB reserve = 56 GiB: two 30 GiB guests never share one
    result = place([vm(f"v{i}", 30) for i in range(3)], nodes(3), {})
    assert sorted(result.nodes.values()) == ["n1", "n2", "n3"]
    crowded = place([vm(f"v{i}", 30) for i in range(4)], nodes(3), {})
    assert len(crowded.nodes) == 3 and any("cannot place v" in p for p in crowded.problems)


def test_vcpu_ratio_follows_the_service_class():
    assert core_share(vm("c", 1, cores=8, klass="critical")) == 4
    assert core_share(vm("b", 1, cores=8, klass="batch")) == 1
    # 16 cores: four 8-vCPU critical guests (4 cores each) fill a node; a fifth does not fit
    result = place([vm(f"c{i}", 1, cores=8, klass="critical", ha=False) for i in range(5)], nodes(1), {})
    assert len(result.nodes) == 4 and result.problems
    batch = place([vm(f"b{i}", 1, cores=8, klass="batch", ha=False) for i in range(16)], nodes(1), {})
    assert len(batch.nodes) == 16 and not batch.problems


def test_anti_affinity_members_never_share_a_node():
    group = [vm(f"db-{i}", 8, group="db") for i in range(3)]
    result = place(group + [vm("other", 8)], nodes(3), {})
    assert len({result.nodes[v.name] for v in group}) == 3
    too_many = place([vm(f"db-{i}", 8, group="db") for i in range(4)], nodes(3), {})
    assert any("anti-affinity group 'db'" in p for p in too_many.problems)


def test_existing_guests_stay_put_unless_invalid():
    guests = [vm("a", 8, group="g"), vm("b", 8, group="g"), vm("c", 8)]
    result = place(guests, nodes(3), {"a": "n3", "b": "n3", "c": "n2"})
    assert result.nodes["c"] == "n2" and result.nodes["a"] == "n3"
    assert result.nodes["b"] != "n3" and "anti-affinity group 'g'" in result.moves["b"]


def test_failover_check_reports_ha_guests_that_cannot_restart():
    # two nodes of 56 GiB usable, each 40 GiB full of HA guests: losing one strands its guests
    result = place([vm("x", 40), vm("y", 40)], nodes(2), {})
    assert any("after losing n1" in p and "cannot restart" in p for p in result.problems)
    roomy = place([vm("x", 20), vm("y", 20)], nodes(2), {})
    assert not roomy.problems
    # three members of a group on three nodes can only restart beside one another
    spread = place([vm(f"w{i}", 4, group="web") for i in range(3)], nodes(3), {})
    assert len(spread.warnings) == 3 and "anti-affinity" in spread.warnings[0]


def test_placement_is_deterministic_whatever_the_input_order():
    guests = [vm(f"g{i:02d}", 2 + i % 7, cores=1 + i % 4, group=f"grp{i % 5}") for i in range(30)]
    first = place(guests, nodes(4, ram_gib=256, cores=64), {})
    shuffled = guests[:]
    random.Random(7).shuffle(shuffled)
    assert place(shuffled, nodes(4, ram_gib=256, cores=64), {}).nodes == first.nodes
