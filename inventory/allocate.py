"""Fill an environment's address plan with what the inventory needs, and persist it.

Existing allocations are kept as they are; only missing ones are handed out (the
lowest free block), so adding a site never renumbers another. ``prune`` releases
allocations whose owner left the inventory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hatang.inventory.checks import _expected_allocations
from hatang.inventory.load import load


@dataclass
class AllocationReport:
    environment: str
    added: list[tuple[str, str, str]] = field(default_factory=list)  # purpose, key, prefix
    released: list[tuple[str, str, str]] = field(default_factory=list)


def allocate(directory: Path | None, env: str, *, prune: bool = False, save: bool = True) -> AllocationReport:
    inv = load(directory, env, check=False)
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
            prefix = pool.allocate(key)
        report.added.append((purpose, key, str(prefix)))
    if prune:
        wanted = {(purpose, key) for purpose, key, _ in expected}
        for purpose, pool in plan.pools.items():
            for key in [k for k in pool.allocations if (purpose, k) not in wanted]:
                report.released.append((purpose, key, str(pool.allocations[key])))
                pool.release(key)
    if save and (report.added or report.released):
        plan.save()
    return report
