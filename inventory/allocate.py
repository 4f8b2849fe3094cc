"""Fill an environment's address plan with what the inventory needs, and persist it.

Existing allocations are kept as they are; only missing ones are handed out (the
lowest free block), so adding a site never renumbers another. ``prune`` releases
allocations whose owner left the inventory, and only those: it refuses an inventory
that does not validate (an empty or broken ``network.yaml`` looks like every owner
left), and never releases the allocation of a device, link, site, VLAN, node or VM
that is still in the inventory in any environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hatang.errors import InventoryError
from hatang.inventory.checks import CHECKS, _expected_allocations, check_addressing
from hatang.inventory.inventory import Inventory
from hatang.inventory.load import load


@dataclass
class AllocationReport:
    environment: str
    added: list[tuple[str, str, str]] = field(default_factory=list)  # purpose, key, prefix
    released: list[tuple[str, str, str]] = field(default_factory=list)
    previous: Path | None = None  # where the plan as it was before this run is kept


def _validate_for_prune(inv: Inventory) -> None:
    """Every check but the addressing one (missing addresses are what allocate fixes)."""
    problems = [p for check in CHECKS if check is not check_addressing for p in check(inv)]
    if problems:
        raise InventoryError(
            f"refusing to prune: the inventory in {inv.directory} has {len(problems)} problem(s); nothing released",
            details=[str(p) for p in problems],
        ).with_problems(problems)


def _still_owned(inv: Inventory) -> set[str]:
    """Names that own addresses in some environment: devices, their sites, links."""
    owners = {device.name for _, device in inv.devices}
    owners |= {device.site for _, device in inv.devices if device.lan_port is not None}
    owners |= {link.id for _, link in inv.links}
    return owners


def allocate(directory: Path | None, env: str, *, prune: bool = False, save: bool = True) -> AllocationReport:
    inv = load(directory, env, check=False)
    if prune:
        _validate_for_prune(inv)
    plan = inv._require_plan()
    report = AllocationReport(env)
    expected = list(_expected_allocations(inv))
    # VLAN prefixes first: host addresses are carved out of them.
    expected.sort(key=lambda item: item[0] == "hosts")
    vm_vlan = {vm.name: vm.spec.nics[0].vlan for vm in inv.vms()}
    for purpose, key, _ in expected:
        if purpose == "hosts":
            if key in plan.pool("hosts").allocations:
                continue
            vlan = vm_vlan.get(key, inv.pve_mgmt_vlan)
            prefix = plan.allocate_host(key, plan.pool("dc").allocations[f"vlan-{vlan}"])
        else:
            pool = plan.pool(purpose)
            if key in pool.allocations:
                continue
            prefix = pool.allocate(key, inv.allocation_area(purpose, key))
        report.added.append((purpose, key, str(prefix)))
    if prune:
        keep = {(purpose, key) for purpose, key, _ in expected}
        owned = _still_owned(inv)
        for purpose, pool in plan.pools.items():
            for key in [k for k in pool.allocations if (purpose, k) not in keep and k not in owned]:
                report.released.append((purpose, key, str(pool.allocations[key])))
                pool.release(key)
    if save and (report.added or report.released):
        report.previous = plan.save()
    return report
