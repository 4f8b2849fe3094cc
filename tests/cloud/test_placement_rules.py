"""Placement's per-node rules at their edges: the host reserve and the vCPU share."""

from __future__ import annotations

import dataclasses

import pytest

from hatang.cloud.desired import DesiredVm, Nic
from hatang.cloud.placement import NodeCapacity, NodeLoad, place

GIB = 1024


def guest(name: str, memory_mib: int, cores: int = 1, klass: str = "standard") -> DesiredVm:
    return DesiredVm(name, "svc", klass, "c", "qemu", "tpl", cores, memory_mib, (("s", 10),), (Nic(110),), False, None, "u", "k")


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
