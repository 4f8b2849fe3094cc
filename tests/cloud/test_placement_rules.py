"""Placement's per-node rules at their edges: the host reserve and the vCPU share."""

from __future__ import annotations

import dataclasses

import pytest

from hatang.cloud.desired import DesiredVm, Nic
from hatang.cloud.placement import NodeCapacity, NodeLoad, capacities, place
from hatang.inventory import model as m

GIB = 1024


def guest(name: str, memory_mib: int, cores: int = 1, klass: str = "standard", ha: bool = False, group: str | None = None) -> DesiredVm:
    return DesiredVm(name, "svc", klass, "c", "qemu", "tpl", cores, memory_mib, (("s", 10),), (Nic(110),), ha, group, "u", "k")


def two_nodes(ram_gib: int = 64, cores: int = 16) -> list[NodeCapacity]:
    return [NodeCapacity("n1", ram_gib * GIB, cores), NodeCapacity("n2", ram_gib * GIB, cores)]


def test_the_reserve_is_ten_percent_but_at_least_8_gib() -> None:
    # 64 GiB: 10 % is 6.4 GiB, below the 8 GiB floor → 56 GiB usable.
    assert NodeCapacity("small", 64 * GIB, 16).usable_mib == 56 * GIB
    # 256 GiB: 10 % (26,214 MiB) is above the floor → 262,144 − 26,214 = 235,930 MiB.
    assert NodeCapacity("big", 256 * GIB, 16).usable_mib == 235_930
    # exactly 80 GiB: 10 % = the floor = 8 GiB → 72 GiB.
    assert NodeCapacity("edge", 80 * GIB, 16).usable_mib == 72 * GIB


def test_a_guest_fits_up_to_the_usable_ram_and_not_one_mib_more() -> None:
    node = NodeCapacity("n", 64 * GIB, 16)
    assert NodeLoad(node).fits(guest("exact", 56 * GIB))
    assert not NodeLoad(node).fits(guest("over", 56 * GIB + 1))
    placed = place([guest("over", 57 * GIB)], [node], {})
    assert placed.nodes == {} and placed.problems and "cannot place over (57 GiB" in placed.problems[0]


def test_vcpu_share_fills_the_cores_exactly() -> None:
    """16 cores: standard guests of 4 vCPU take 1 core each; 16 fit, the 17th does not."""
    node = NodeCapacity("n", 1024 * GIB, 16)
    load = NodeLoad(node)
    for i in range(16):
        assert load.fits(guest(f"g{i}", GIB, cores=4))
        load.add(guest(f"g{i}", GIB, cores=4))
    assert load.cores == 16 and load.memory_mib == 16 * GIB
    assert not load.fits(guest("one-more", GIB, cores=4))
    assert load.free_mib == node.usable_mib - 16 * GIB


def test_a_nodes_capacity_is_a_value() -> None:
    """Loads copy it for the failover check; it must not change under them."""
    node = NodeCapacity("n", 64 * GIB, 16)
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.cores = 32  # type: ignore[misc]
    assert node == NodeCapacity("n", 64 * GIB, 16) and hash(node) == hash(NodeCapacity("n", 64 * GIB, 16))


def test_capacities_from_the_inventory() -> None:
    nodes = (m.Node(name="a", cores=16, ram_gib=64), m.Node(name="b", cores=32, threads_per_core=1, ram_gib=128))
    cluster = m.Cluster(name="c", nodes=nodes, storage=())
    assert capacities(cluster) == [NodeCapacity("a", 64 * GIB, 16, True), NodeCapacity("b", 128 * GIB, 32, True)]
    assert [n.online for n in capacities(cluster, {"b": False})] == [True, False]


def test_new_guests_go_to_the_node_with_most_free_ram() -> None:
    nodes = [NodeCapacity("n1", 64 * GIB, 16), NodeCapacity("n2", 128 * GIB, 16)]
    assert place([guest("a", 8 * GIB)], nodes, {}).nodes == {"a": "n2"}


def test_largest_memory_first_then_most_cores() -> None:
    # one node of 56 GiB usable: the 40 GiB guest is placed first, the 30 GiB one no longer fits
    result = place([guest("small", 30 * GIB), guest("large", 40 * GIB)], [NodeCapacity("n", 64 * GIB, 16)], {})
    assert result.nodes == {"large": "n"}
    assert result.problems == ["cannot place small (30 GiB, 1 vCPU standard): no online node has the RAM and vCPU room"]
    # equal memory: 8 critical vCPU (4 cores) before 4 (2 cores) on a node of 4 cores
    cores = place([guest("two", GIB, cores=4, klass="critical"), guest("four", GIB, cores=8, klass="critical")], [NodeCapacity("n", 64 * GIB, 4)], {})
    assert cores.nodes == {"four": "n"}


def test_one_guest_that_cannot_be_placed_does_not_stop_the_others() -> None:
    result = place([guest("huge", 60 * GIB), guest("tiny", 1 * GIB, group="g")], [NodeCapacity("n", 64 * GIB, 16)], {})
    assert result.nodes == {"tiny": "n"}
    assert result.problems == ["cannot place huge (60 GiB, 1 vCPU standard): no online node has the RAM and vCPU room"]
    grouped = place([guest("g1", GIB, group="g"), guest("g2", GIB, group="g")], [NodeCapacity("n", 64 * GIB, 16)], {})
    assert grouped.problems == ["cannot place g2 (1 GiB, 1 vCPU standard): no online node has the RAM and vCPU room "
                                "without sharing a node with another member of anti-affinity group 'g'"]


def test_a_guest_on_an_offline_node_stays_and_keeps_its_share() -> None:
    nodes = [NodeCapacity("n1", 64 * GIB, 16, online=False), NodeCapacity("n2", 64 * GIB, 16)]
    result = place([guest("held", 40 * GIB), guest("new", 8 * GIB)], nodes, {"held": "n1"})
    assert result.nodes == {"held": "n1", "new": "n2"} and result.moves == {}


def test_why_a_guest_moves() -> None:
    nodes = two_nodes()
    gone = place([guest("a", GIB)], nodes, {"a": "n9"})
    assert gone.moves == {"a": "node n9 is not in the inventory's cluster"}
    crowded = place([guest("a", 57 * GIB), guest("b", 8 * GIB)], [NodeCapacity("n1", 64 * GIB, 16), NodeCapacity("n2", 128 * GIB, 16)], {"a": "n1"})
    assert crowded.moves == {"a": "n1 has no room left for it (57 GiB, 1 vCPU)"}
    grouped = place([guest("a", GIB, group="g"), guest("b", 60 * GIB, group="h")], nodes, {"a": "n1", "b": "n1"})
    assert grouped.moves == {"b": "n1 has no room left for it (60 GiB, 1 vCPU)"}  # its group is not on n1: room is the reason
    pair = place([guest("a", GIB, group="g"), guest("b", GIB, group="g")], nodes, {"a": "n1", "b": "n1"})
    assert pair.moves == {"b": "another member of anti-affinity group 'g' is on n1"} and pair.nodes == {"a": "n1", "b": "n2"}


def test_failover_restarts_each_lost_nodes_ha_guests_on_the_others() -> None:
    """n1 holds HA a (20 GiB), n2 HA b (50 GiB); 56 GiB usable each. Losing n1, a needs 20 of
    the 6 left on n2; losing n2, b needs 50 of the 36 left on n1: both stranded."""
    result = place([guest("a", 20 * GIB, ha=True), guest("b", 50 * GIB, ha=True)], two_nodes(), {"a": "n1", "b": "n2"})
    assert result.problems == [
        "after losing n1, these HA guests cannot restart elsewhere (no RAM/vCPU room): a",
        "after losing n2, these HA guests cannot restart elsewhere (no RAM/vCPU room): b",
    ]


def test_failover_takes_the_largest_first_and_goes_on_after_a_stranded_guest() -> None:
    """n1 holds HA x (30), y (10), z (4, group g); n2 holds 20 GiB and w of group g: 36 free.
    Losing n1: x first (36 → 6), y (10) is stranded, z still restarts, beside w: degraded."""
    vms = [guest("x", 30 * GIB, ha=True), guest("y", 10 * GIB, ha=True), guest("z", 4 * GIB, ha=True, group="g"),
           guest("filler", 20 * GIB), guest("w", 1 * GIB, group="g")]
    result = place(vms, two_nodes(), {"x": "n1", "y": "n1", "z": "n1", "filler": "n2", "w": "n2"})
    assert "after losing n1, these HA guests cannot restart elsewhere (no RAM/vCPU room): y" in result.problems
    assert result.warnings == ["after losing n1, z could only restart beside another member of their anti-affinity group"]


def test_failover_names_every_stranded_guest_and_no_false_degradation() -> None:
    vms = [guest("p", 30 * GIB, ha=True), guest("q", 20 * GIB, ha=True), guest("r", 50 * GIB), guest("s", GIB, ha=True, group="g")]
    result = place(vms, two_nodes(), {"p": "n1", "q": "n1", "s": "n1", "r": "n2"})
    assert result.problems == ["after losing n1, these HA guests cannot restart elsewhere (no RAM/vCPU room): p, q"]
    assert result.warnings == []  # s restarts on n2, where no member of g is


def test_failover_names_every_degraded_guest() -> None:
    vms = [guest("z1", GIB, ha=True, group="g"), guest("z2", GIB, ha=True, group="h"), guest("w1", GIB, group="g"), guest("w2", GIB, group="h")]
    result = place(vms, two_nodes(), {"z1": "n1", "z2": "n1", "w1": "n2", "w2": "n2"})
    assert result.warnings == ["after losing n1, z1, z2 could only restart beside another member of their anti-affinity group"]
