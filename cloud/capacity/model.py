"""Hardware and demand of one cluster, as plain numbers.

:class:`Capacity` is what a set of nodes offers (cores, threads, RAM, storage raw and
usable); :func:`capacity` computes it for a cluster after losing its ``lost`` largest
nodes, counted per resource (the worst case for each). :class:`Demand` is what the VMs
ask for: vCPU by service class, RAM, storage by pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from hatang.inventory import model as m
from hatang.inventory.checks import usable_storage_gb

SERVICE_CLASSES: tuple[str, ...] = ("critical", "standard", "batch")


@dataclass(frozen=True)
class Capacity:
    """What the nodes of a cluster offer (after losing ``lost`` nodes, if any)."""

    nodes: int
    cores: int
    threads: int
    ram_gib: float
    storage_raw_gb: Mapping[str, float]
    storage_usable_gb: Mapping[str, float]


@dataclass(frozen=True)
class Demand:
    """What VMs ask of a cluster: vCPU by service class, RAM in GiB, storage in GB by pool."""

    vcpu: Mapping[str, float] = field(default_factory=dict)
    ram_gib: float = 0.0
    storage_gb: Mapping[str, float] = field(default_factory=dict)

    def __add__(self, other: Demand) -> Demand:
        return Demand(_add(self.vcpu, other.vcpu), self.ram_gib + other.ram_gib, _add(self.storage_gb, other.storage_gb))

    @property
    def total_vcpu(self) -> float:
        return sum(self.vcpu.values())


def _add(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    return {key: a.get(key, 0.0) + b.get(key, 0.0) for key in {**a, **b}}


def osd_gb(node: m.Node) -> float:
    return sum(d.size_gb * d.count for d in node.disks if d.role == "osd")


def local_gb(node: m.Node) -> float:
    return sum(d.size_gb * d.count for d in node.disks if d.role == "local")


def node_weight(storage: m.Storage) -> Callable[[m.Node], float] | None:
    """How much of ``storage`` a node carries (None: the storage does not live on nodes)."""
    if storage.type == "rbd":
        return osd_gb
    if not storage.shared:
        return local_gb
    return None


def without_largest(cluster: m.Cluster, lost: int, key: Callable[[m.Node], float]) -> m.Cluster:
    """The cluster without its ``lost`` largest nodes by ``key``."""
    if lost <= 0:
        return cluster
    kept = sorted(cluster.nodes, key=key, reverse=True)[lost:]
    return cluster.model_copy(update={"nodes": tuple(kept)})


def capacity(cluster: m.Cluster, lost: int = 0) -> Capacity:
    """The cluster's capacity after losing its ``lost`` largest nodes.

    "Largest" is judged per resource (most cores for CPU, most RAM for RAM, most
    disk of the pool for node-borne storage), so each figure is that resource's worst
    case. Storage that does not live on the nodes (NFS) is not affected by a loss.
    """
    by_cores = without_largest(cluster, lost, lambda n: n.cores)
    by_ram = without_largest(cluster, lost, lambda n: n.ram_gib)
    raw: dict[str, float] = {}
    usable: dict[str, float] = {}
    for storage in cluster.storage:
        weight = node_weight(storage)
        left = without_largest(cluster, lost, weight) if weight else cluster
        raw[storage.name] = sum(map(weight, left.nodes)) if weight else float(storage.raw_gb or 0)
        usable[storage.name] = usable_storage_gb(left, storage) or 0.0
    return Capacity(
        nodes=max(len(cluster.nodes) - lost, 0),
        cores=sum(n.cores for n in by_cores.nodes),
        threads=sum(n.cores * n.threads_per_core for n in by_cores.nodes),
        ram_gib=float(sum(n.ram_gib for n in by_ram.nodes)),
        storage_raw_gb=raw,
        storage_usable_gb=usable,
    )


@dataclass(frozen=True)
class Allocation:
    """What the VMs of a cluster are given, from the inventory or the live cluster."""

    source: str
    vms: int
    ha_vms: int
    demand: Demand
    unknown: tuple[str, ...] = ()  # live guests the inventory does not name (counted as standard)


def allocation_from_vms(vms: Iterable[m.Vm], source: str = "inventory") -> Allocation:
    vcpu: dict[str, float] = {}
    storage: dict[str, float] = {}
    ram_mib = 0
    count = ha = 0
    for vm in vms:
        count += 1
        ha += vm.spec.ha
        vcpu[vm.service_class] = vcpu.get(vm.service_class, 0.0) + vm.spec.cores
        ram_mib += vm.spec.memory_mib
        for disk in vm.spec.disks:
            storage[disk.storage] = storage.get(disk.storage, 0.0) + disk.size_gb
    return Allocation(source, count, ha, Demand(vcpu, ram_mib / 1024, storage))


def required_cores(vcpu: Mapping[str, float], ratio_limits: Mapping[str, float]) -> float:
    """Physical cores the vCPU need under the per-class ratio limits: Σ vCPU_c ÷ limit_c."""
    return sum(v / ratio_limits[c] for c, v in vcpu.items())


def vcpu_ratio(total_vcpu: float, cores: int) -> float:
    return total_vcpu / cores if cores else float("inf")
