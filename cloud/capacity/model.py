"""Hardware and demand of one cluster, as plain numbers.

:class:`Capacity` is what a set of nodes offers (cores, threads, RAM, storage raw and
usable); :func:`capacity` computes it for a cluster after losing its ``lost`` largest
nodes, counted per resource (the worst case for each). :class:`Demand` is what the VMs
ask for: vCPU by service class, RAM, storage by pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from hatang.cloud.capacity.storage import PoolCapacity, node_weight, pool_capacity
from hatang.inventory import model as m



@dataclass(frozen=True)
class Capacity:
    """What the nodes of a cluster offer (after losing ``lost`` nodes, if any)."""

    nodes: int
    cores: int
    threads: int
    ram_gib: float
    pools: Mapping[str, PoolCapacity]

    @property
    def storage_raw_gb(self) -> dict[str, float]:
        return {name: p.raw_gb for name, p in self.pools.items()}

    @property
    def storage_usable_gb(self) -> dict[str, float]:
        """Usable GB by pool; 0 for a pool at risk."""
        return {name: p.usable_gb for name, p in self.pools.items()}

    @property
    def storage_at_risk(self) -> frozenset[str]:
        """The Ceph pools whose copies no longer fit their failure domains."""
        return frozenset(name for name, p in self.pools.items() if p.at_risk)


@dataclass(frozen=True)
class Demand:
    """What VMs ask of a cluster: vCPU by service class, RAM in GiB, storage in GB by pool.

    Storage has three figures, because pools are thin-provisioned: ``storage_gb`` is
    the data stored (used), ``committed_gb`` the disk sizes allocated to guests, and
    ``reserved_gb`` the part of the committed size whose services are sized for their
    disks, not their data (``storage_sizing: committed``; by default the critical ones).
    """

    vcpu: Mapping[str, float] = field(default_factory=dict)
    ram_gib: float = 0.0
    storage_gb: Mapping[str, float] = field(default_factory=dict)
    committed_gb: Mapping[str, float] = field(default_factory=dict)
    reserved_gb: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def of_guests(cls, vcpu: Mapping[str, float], ram_gib: float, disks: Mapping[str, float], sizing: str) -> Demand:
        """New guests: their disks are stored, committed, and reserved if sized by ``committed``."""
        return cls(vcpu, ram_gib, disks, disks, disks if sizing == "committed" else {})

    def __add__(self, other: Demand) -> Demand:
        return Demand(
            _add(self.vcpu, other.vcpu),
            self.ram_gib + other.ram_gib,
            _add(self.storage_gb, other.storage_gb),
            _add(self.committed_gb, other.committed_gb),
            _add(self.reserved_gb, other.reserved_gb),
        )

    def storage_need(self, pool: str) -> float:
        """What a pool must hold: the data stored, or the reserved disks if larger."""
        return max(self.storage_gb.get(pool, 0.0), self.reserved_gb.get(pool, 0.0))

    @property
    def total_vcpu(self) -> float:
        return sum(self.vcpu.values())


def _add(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    return {key: a.get(key, 0.0) + b.get(key, 0.0) for key in {**a, **b}}


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
    case; each pool follows its failure model (:mod:`.storage`).
    """
    by_cores = without_largest(cluster, lost, lambda n: n.cores)
    by_ram = without_largest(cluster, lost, lambda n: n.ram_gib)
    pools = {}
    for storage in cluster.storage:
        weight = node_weight(storage)
        left = without_largest(cluster, lost, weight) if weight else cluster
        pools[storage.name] = pool_capacity(storage, left.nodes)
    return Capacity(
        nodes=max(len(cluster.nodes) - lost, 0),
        cores=sum(n.cores for n in by_cores.nodes),
        threads=sum(n.cores * n.threads_per_core for n in by_cores.nodes),
        ram_gib=float(sum(n.ram_gib for n in by_ram.nodes)),
        pools=pools,
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
    """The VMs' vCPU, RAM and disks; stored data is taken as the disk size (thick) until
    a history says how much is really stored."""
    total = Demand()
    count = ha = 0
    for vm in vms:
        count += 1
        ha += vm.spec.ha
        disks: dict[str, float] = {}
        for disk in vm.spec.disks:
            disks[disk.storage] = disks.get(disk.storage, 0.0) + disk.size_gb
        total = total + Demand.of_guests({vm.service_class: vm.spec.cores}, vm.spec.memory_mib / 1024, disks, vm.sizing)
    return Allocation(source, count, ha, total)


def vcpu_ratio(total_vcpu: float, cores: int) -> float:
    return total_vcpu / cores if cores else float("inf")
