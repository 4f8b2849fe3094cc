"""Placement and the capacity planner count vCPU against the same rule, in the same unit
(vCPU per physical core, :mod:`hatang.cloud.vcpu`): what one fits, the other fits."""

from __future__ import annotations

import pytest

from hatang.cloud.capacity.model import allocation_from_vms
from hatang.cloud.capacity.rules import Rules, needs
from hatang.cloud.desired import DesiredVm, Nic, desired_vm
from hatang.cloud.placement import NodeCapacity, capacities, core_share, place
from hatang.cloud.vcpu import SERVICE_CLASSES, VCPU_PER_CORE, cores_needed
from hatang.inventory import model as m
from hatang.inventory.load import load

from .test_failure_model import cluster, guest, host


def test_one_limit_per_service_class() -> None:
    assert SERVICE_CLASSES == tuple(VCPU_PER_CORE) == ("critical", "standard", "batch")
    assert dict(VCPU_PER_CORE) == {"critical": 2, "standard": 4, "batch": 8}
    # Σ vCPU_c ÷ limit_c: 6 ÷ 2 + 8 ÷ 4 + 8 ÷ 8 = 6 cores; with the limits given: 6 ÷ 3 = 2
    assert cores_needed({"critical": 6, "standard": 8, "batch": 8}) == 6
    assert cores_needed({"critical": 6}, {"critical": 3}) == 2


def test_the_inventorys_guests_take_the_same_cores_in_both() -> None:
    """pve-core's guests: placement's core shares add up to the planner's cores needed
    (critical 120 ÷ 2 + standard 74 ÷ 4 + batch 8 ÷ 8 = 79.5)."""
    inv = load(None, "lab")
    vms = [vm for vm in inv.vms() if vm.cluster == "pve-core"]
    desired = [desired_vm(inv, vm, "u", "k") for vm in vms]
    planner = needs(allocation_from_vms(vms).demand, Rules(), inv.cluster_by_name["pve-core"])["cpu"]
    assert sum(core_share(vm) for vm in desired) == pytest.approx(planner) == pytest.approx(79.5)
    # and placement offers the nodes' physical cores, as the planner's limit does (not threads)
    assert sum(n.cores for n in capacities(inv.cluster_by_name["pve-core"])) == 128


@pytest.mark.parametrize(("cls", "count", "fits"), [("critical", 4, True), ("critical", 5, False), ("standard", 8, True), ("standard", 9, False), ("batch", 16, True), ("batch", 17, False)])
def test_one_node_fits_exactly_what_the_planner_allows(cls: str, count: int, fits: bool) -> None:
    """One node of 16 cores, 32 threads and ample RAM; guests of 8 vCPU. Limits per core:
    critical 2 → 4 guests (32 vCPU ÷ 2 = 16 cores), standard 4 → 8, batch 8 → 16; one
    more is over in both. Counting threads (32) would let placement take twice as many."""
    node = host("a", cores=16, ram=4096)
    vms = [guest(f"g{i}", cls, 10, cores=8, ram=1, ha=False) for i in range(count)]
    planner = needs(allocation_from_vms(vms).demand, Rules(), cluster([node], m.Storage(name="ceph", type="rbd", replicas=1)))["cpu"]
    desired = [DesiredVm(vm.name, vm.service, cls, "t", "qemu", "tpl", vm.spec.cores, vm.spec.memory_mib, (("ceph", 10),), (Nic(110),), False, None, "u", "k") for vm in vms]
    placed = place(desired, [NodeCapacity("a", node.ram_gib * 1024, node.cores)], {})
    assert (planner <= node.cores) is fits
    assert (len(placed.nodes) == count and not placed.problems) is fits
