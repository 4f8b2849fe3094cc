"""Backup storage growth from the retention policies and measured archive sizes (issue 27).

For each backup storage a cluster's policies name: every guest's newest archive (its
measured size, from ``hatang cloud backups``' data) times the number of archives its
class's retention keeps after N months of backups on its schedule (hatang.cloud.prune,
as PVE prunes). Archives are full vzdump files (an NFS store), so the sum is what the
store holds; a Proxmox Backup Server deduplicates and would hold less. A guest with no
archive yet is counted as not measured, not as zero. The figures are compared with the
storage's usable size from the inventory (the store also holds any VM disks on it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hatang.cloud.backup_report import BackupState, backup_states
from hatang.cloud.backups import prune_backups
from hatang.cloud.prune import kept, parse_keep
from hatang.inventory import model as m
from hatang.inventory.checks import usable_storage_gb
from hatang.inventory.inventory import Inventory

MONTHS = (1, 3, 6, 12, 24)
DAY_S = 86400
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
START = 1767225600  # 2026-01-01 00:00 UTC: any start gives the same counts within a few archives


def backup_days(schedule: str) -> list[int]:
    """Weekdays (0 = Monday) a PVE calendar event runs on: its leading day list
    (``sat``, ``mon..fri``, ``mon,wed``), every day when it names none."""
    first = schedule.split()[0] if schedule.split() else ""
    if not re.fullmatch(r"[a-z.,]+", first):
        return list(range(7))
    days: set[int] = set()
    for part in first.split(","):
        lo, _, hi = part.partition("..")
        a, b = WEEKDAYS.index(lo[:3]), WEEKDAYS.index((hi or lo)[:3])
        days |= set(range(a, b + 1)) if a <= b else set(range(a, 7)) | set(range(0, b + 1))
    return sorted(days)


def archives_kept(policy: m.BackupPolicy, months: int) -> int:
    """How many archives of one guest the policy keeps after ``months`` of backups."""
    days = backup_days(policy.schedule)
    runs = [START + d * DAY_S + 21 * 3600 for d in range(months * 30) if (3 + d) % 7 in days]  # 2026-01-01 is a Thursday
    return len(kept(runs, parse_keep(prune_backups(policy))))


@dataclass(frozen=True)
class StoreGrowth:
    cluster: str
    storage: str
    guests: int
    measured: int
    newest_gb: float  # the measured guests' newest archives
    retained_gb: dict[int, float]  # months of backups → GB the store holds
    usable_gb: float | None

    def as_dict(self) -> dict[str, object]:
        return {"cluster": self.cluster, "storage": self.storage, "guests": self.guests, "measured": self.measured,
                "newest_gb": self.newest_gb, "retained_gb": {str(k): v for k, v in self.retained_gb.items()},
                "usable_gb": self.usable_gb}


def growth(inv: Inventory, clusters: list[str] | None = None, states: list[BackupState] | None = None) -> list[StoreGrowth]:
    """Per cluster and backup storage, what retention makes the store hold over time."""
    states = backup_states(inv, clusters=clusters) if states is None else states
    out = []
    for (cluster, storage) in sorted({(s.cluster, inv.backup_policy_by_class[s.service_class].storage)
                                      for s in states if s.service_class in inv.backup_policy_by_class}):
        mine = [s for s in states if s.cluster == cluster and s.service_class in inv.backup_policy_by_class
                and inv.backup_policy_by_class[s.service_class].storage == storage]
        measured = [s for s in mine if s.size is not None]
        retained = {n: round(sum((s.size or 0) * archives_kept(inv.backup_policy_by_class[s.service_class], n) for s in measured) / 1e9, 1)
                    for n in MONTHS}
        declared = inv.cluster_by_name[cluster]
        store = next((st for st in declared.storage if st.name == storage), None)
        out.append(StoreGrowth(cluster, storage, len(mine), len(measured), round(sum(s.size or 0 for s in measured) / 1e9, 1),
                               retained, usable_storage_gb(declared, store) if store else None))
    return out
