"""Backup storage in the forecast (issue 27): what each backup store must hold once its
guests' retention is full, growing with the guests.

For each guest with a backup policy whose storage the cluster has:

- copies: the archives its class's retention keeps once full (keep-daily, -weekly,
  -monthly on its schedule, as PVE prunes: :func:`.backup_growth.archives_kept`);
- archive size at the base month: its newest archive as measured (``hatang cloud
  backups``' data, read with ``--live``), else the inventory's estimate: the policy's
  ``archive_ratio`` × the guest's disks × how full its pool is (data stored ÷ disks
  committed at the base month, at most 1), a disk on any backup store left out
  (:mod:`hatang.cloud.backup_scope`, the rule the guests' ``backup=0`` follows);
- each month, that size × the growth of the data stored on the guest's pool (the pool
  of most of its disks: its trend, and the drivers' new services).

A store's demand is the sum of copies × size over its guests plus the guest disks
committed on it, or its history's trend when larger (a measured trend counts both). Archives are full vzdump files (an NFS
store); a Proxmox Backup Server deduplicates and would hold less.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from hatang.cloud.backup_scope import backed_up, backup_targets
from hatang.cloud.capacity.backup_growth import archives_kept
from hatang.cloud.capacity.model import Demand
from hatang.inventory import model as m


def full_copies(policy: m.BackupPolicy) -> int:
    """The archives of one guest the policy keeps once every keep-* is filled."""
    return archives_kept(policy, policy.keep_monthly + policy.keep_weekly // 4 + 2)


@dataclass(frozen=True)
class GuestBackup:
    guest: str
    storage: str  # the backup store
    pool: str  # where most of its disks are: its archives grow with that pool's data
    copies: int
    archive_gb: float  # at the base month
    measured: bool


@dataclass(frozen=True)
class BackupStore:
    storage: str
    guests: tuple[GuestBackup, ...]
    needs_gb: tuple[float, ...]  # per forecast month

    def as_dict(self) -> dict[str, object]:
        return {"storage": self.storage, "guests": len(self.guests), "measured": sum(g.measured for g in self.guests),
                "copies": sum(g.copies for g in self.guests), "archives_gb": round(sum(g.archive_gb for g in self.guests), 1),
                "retained_gb": round(sum(g.copies * g.archive_gb for g in self.guests), 1),
                "at_horizon_gb": round(self.needs_gb[-1], 1) if self.needs_gb else None}


def guest_backups(cluster: m.Cluster, vms: Sequence[m.Vm], policies: Mapping[str, m.BackupPolicy],
                  measured: Mapping[str, int], base: Demand) -> list[GuestBackup]:
    """Each backed-up guest's copies and archive size at the base month."""
    pools = {s.name for s in cluster.storage}
    targets = backup_targets(policies.values())
    out = []
    for vm in vms:
        policy = policies.get(vm.service_class)
        if policy is None or policy.storage not in pools:
            continue
        disks: dict[str, float] = {}
        for disk in vm.spec.disks:
            if backed_up(disk.storage, targets):  # a backup store's own data (the backup server's) is left out (backup=0)
                disks[disk.storage] = disks.get(disk.storage, 0.0) + disk.size_gb
        if not disks:
            continue
        pool = max(sorted(disks), key=lambda p: disks[p])
        if vm.name in measured:
            size, known = measured[vm.name] / 1e9, True
        else:
            committed = base.committed_gb.get(pool, 0.0)
            fill = min(base.storage_gb.get(pool, 0.0) / committed, 1.0) if committed > 0 else 1.0
            size, known = policy.archive_ratio * sum(disks.values()) * fill, False
        out.append(GuestBackup(vm.name, policy.storage, pool, full_copies(policy), size, known))
    return out


def backup_stores(guests: Sequence[GuestBackup], base: Demand, demand: Sequence[Demand]) -> list[BackupStore]:
    """Each backup store's need in every month of ``demand`` (base: the month before)."""
    def grown(g: GuestBackup, month: Demand) -> float:
        at_base = base.storage_gb.get(g.pool, 0.0)
        return g.archive_gb * (month.storage_gb.get(g.pool, 0.0) / at_base if at_base > 0 else 1.0)

    return [BackupStore(store, mine, tuple(sum(g.copies * grown(g, d) for g in mine) for d in demand))
            for store in sorted({g.storage for g in guests})
            for mine in [tuple(g for g in guests if g.storage == store)]]


def with_backups(demand: Sequence[Demand], stores: Sequence[BackupStore]) -> list[Demand]:
    """``demand`` with each backup store needing at least its archives and the guest
    disks committed on it (the backup server's own), or its trend when larger (a
    measured trend counts both)."""
    out = []
    for index, d in enumerate(demand):
        storage = dict(d.storage_gb)
        for store in stores:
            modelled = d.committed_gb.get(store.storage, 0.0) + store.needs_gb[index]
            storage[store.storage] = max(storage.get(store.storage, 0.0), modelled)
        out.append(replace(d, storage_gb=storage))
    return out
