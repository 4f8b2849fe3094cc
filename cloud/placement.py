"""Where each guest runs: capacity-aware, anti-affinity-respecting, deterministic.

The rules, per node:
- RAM is never overcommitted: the guests' memory fits in the node's RAM less a host
  reserve (10 % of RAM, at least 8 GiB, for the hypervisor, Ceph OSDs and the page cache);
- vCPUs are overcommitted by service class at most as :mod:`hatang.cloud.vcpu` says
  (per physical core, the capacity planner's rule too): a node's guests together take
  at most its cores;
- two members of one anti-affinity group never share a node;
- a guest already placed stays where it is while that is valid (no needless moves);
  new guests go, largest memory first, to the valid online node with the most free RAM
  (ties by name), so the same inputs always give the same placement.

Failover (N+1): for every node, the HA guests on it must restart on the others within
the same limits. Anti-affinity is kept if possible; if a guest can only restart beside
a member of its group, that is reported as degraded, and if it cannot restart at all,
the plan says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from hatang.cloud.desired import DesiredVm
from hatang.cloud.vcpu import cores_needed
from hatang.inventory import model as m

RESERVE_FRACTION = 0.10
RESERVE_MIN_MIB = 8 * 1024


@dataclass(frozen=True)
class NodeCapacity:
    name: str
    ram_mib: int
    cores: int
    online: bool = True

    @property
    def usable_mib(self) -> int:
        return self.ram_mib - max(RESERVE_MIN_MIB, int(self.ram_mib * RESERVE_FRACTION))


@dataclass
class NodeLoad:
    capacity: NodeCapacity
    memory_mib: int = 0
    cores: float = 0.0
    groups: set[str] = field(default_factory=set)

    def fits(self, vm: DesiredVm, *, keep_groups: bool = True) -> bool:
        return (
            self.capacity.online
            and self.memory_mib + vm.memory_mib <= self.capacity.usable_mib
            and self.cores + core_share(vm) <= self.capacity.cores + 1e-9
            and not (keep_groups and vm.anti_affinity and vm.anti_affinity in self.groups)
        )

    def add(self, vm: DesiredVm) -> None:
        self.memory_mib += vm.memory_mib
        self.cores += core_share(vm)
        if vm.anti_affinity:
            self.groups.add(vm.anti_affinity)

    @property
    def free_mib(self) -> int:
        return self.capacity.usable_mib - self.memory_mib


@dataclass
class Placement:
    nodes: dict[str, str] = field(default_factory=dict)  # guest name → node
    problems: list[str] = field(default_factory=list)  # what cannot be done
    warnings: list[str] = field(default_factory=list)  # what holds, but degraded
    moves: dict[str, str] = field(default_factory=dict)  # guest name → why it moves


def core_share(vm: DesiredVm) -> float:
    return cores_needed({vm.service_class: vm.cores})


def capacities(cluster: m.Cluster, online: dict[str, bool] | None = None) -> list[NodeCapacity]:
    return [
        NodeCapacity(n.name, n.ram_gib * 1024, n.cores, (online or {}).get(n.name, True))
        for n in cluster.nodes
    ]


def _best(loads: Iterable[NodeLoad], vm: DesiredVm, *, keep_groups: bool = True) -> NodeLoad | None:
    fitting = [load for load in loads if load.fits(vm, keep_groups=keep_groups)]
    return min(fitting, key=lambda load: (-load.free_mib, load.capacity.name)) if fitting else None


def place(vms: list[DesiredVm], nodes: list[NodeCapacity], current: dict[str, str]) -> Placement:
    """Assign every guest a node; ``current`` maps guests that exist to their node."""
    loads = {n.name: NodeLoad(n) for n in nodes}
    result = Placement()
    by_name = sorted(vms, key=lambda v: v.name)
    pending: list[DesiredVm] = []
    for vm in by_name:
        node = current.get(vm.name)
        load = loads.get(node) if node else None
        if load is not None and not load.capacity.online:
            load.add(vm)  # it cannot move while its node is down; it still holds its share
            result.nodes[vm.name] = node
        elif load is not None and load.fits(vm):
            load.add(vm)
            result.nodes[vm.name] = node
        else:
            if node:
                result.moves[vm.name] = _why_move(load, vm, node)
            pending.append(vm)
    for vm in sorted(pending, key=lambda v: (-v.memory_mib, -v.cores, v.name)):
        load = _best(loads.values(), vm)
        if load is None:
            result.problems.append(
                f"cannot place {vm.name} ({vm.memory_mib // 1024} GiB, {vm.cores} vCPU {vm.service_class}): "
                f"no online node has the RAM and vCPU room"
                + (f" without sharing a node with another member of anti-affinity group '{vm.anti_affinity}'" if vm.anti_affinity else "")
            )
            continue
        load.add(vm)
        result.nodes[vm.name] = load.capacity.name
    _check_failover(by_name, loads, result)
    return result


def _why_move(load: NodeLoad | None, vm: DesiredVm, node: str) -> str:
    if load is None:
        return f"node {node} is not in the inventory's cluster"
    if vm.anti_affinity and vm.anti_affinity in load.groups:
        return f"another member of anti-affinity group '{vm.anti_affinity}' is on {node}"
    return f"{node} has no room left for it ({vm.memory_mib // 1024} GiB, {vm.cores} vCPU)"


def _check_failover(vms: list[DesiredVm], loads: dict[str, NodeLoad], result: Placement) -> None:
    """For each node lost, can its HA guests restart on the others?"""
    by_name = {vm.name: vm for vm in vms}
    for lost in sorted(loads):
        survivors = {}
        for name, load in loads.items():
            if name == lost:
                continue
            copy = NodeLoad(load.capacity, load.memory_mib, load.cores, set(load.groups))
            survivors[name] = copy
        victims = sorted((by_name[n] for n, node in result.nodes.items() if node == lost and by_name[n].ha),
                         key=lambda v: (-v.memory_mib, v.name))
        stranded, degraded = [], []
        for vm in victims:
            target = _best(survivors.values(), vm) or _best(survivors.values(), vm, keep_groups=False)
            if target is None:
                stranded.append(vm.name)
                continue
            if vm.anti_affinity and vm.anti_affinity in target.groups:
                degraded.append(vm.name)
            target.add(vm)
        if stranded:
            result.problems.append(f"after losing {lost}, these HA guests cannot restart elsewhere (no RAM/vCPU room): {', '.join(stranded)}")
        if degraded:
            result.warnings.append(f"after losing {lost}, {', '.join(degraded)} could only restart beside another member of their anti-affinity group")
