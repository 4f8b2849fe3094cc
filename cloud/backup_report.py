"""``hatang cloud backups``: per guest, its last backup, how old it is against its class's RPO.

Read per cluster: what a plan reads (guests, backup jobs), then the backup content of
each storage the policies name (one call per storage: backup stores are shared). A
guest's last backup is its newest archive there; it is ``fresh`` when younger than the
RPO of its service class, ``stale`` when older, ``missing`` when there is none.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from hatang.cloud.client import Pve
from hatang.cloud.desired import desired_state
from hatang.cloud.observed import ClusterView, read_cluster
from hatang.inventory.inventory import Inventory


@dataclass(frozen=True)
class BackupState:
    cluster: str
    guest: str
    vmid: int
    service_class: str
    job: str
    last: int | None  # ctime of the newest archive (UNIX seconds)
    age_h: float | None
    rpo_h: int | None
    size: int | None
    volid: str

    @property
    def status(self) -> str:
        if self.last is None:
            return "missing"
        return "fresh" if self.rpo_h is not None and self.age_h is not None and self.age_h <= self.rpo_h else "stale"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}


def read_archives(pve: Pve, view: ClusterView, storages: set[str]) -> list[dict[str, Any]]:
    """The backup archives on those of ``storages`` the cluster has, read through its first
    online node (one call per storage: backup stores are shared); none with no node online."""
    node = next((n for n in sorted(view.nodes) if view.nodes[n].online), None)
    if node is None:
        return []
    return [archive for storage in sorted(storages & view.storages)
            for archive in pve.get(f"nodes/{node}/storage/{storage}/content", content="backup")]


def backup_states(inv: Inventory, clusters: list[str] | None = None, now: float | None = None) -> list[BackupState]:
    wanted = desired_state(inv)
    now = time.time() if now is None else now
    out = []
    for cluster in clusters or sorted(wanted):
        desired = {vm.name: vm for vm in wanted[cluster]}
        pve = Pve.open(inv, cluster)
        view = read_cluster(pve, wanted_names=set(desired), ct_template_storage=None)
        classes = {vm.service_class for vm in desired.values()}
        policies = {c: inv.backup_policy_by_class.get(c) for c in classes}
        latest: dict[int, dict[str, Any]] = {}
        for archive in read_archives(pve, view, {p.storage for p in policies.values() if p}):
            vmid = int(archive.get("vmid") or 0)
            if vmid and int(archive.get("ctime", 0)) >= int(latest.get(vmid, {}).get("ctime", -1)):
                latest[vmid] = archive
        job_of = {int(v): job_id for job_id, job in view.backup_jobs.items()
                  for v in str(job.get("vmid") or "").split(",") if v.strip().isdigit()}
        for guest in sorted(view.managed(), key=lambda g: g.name):
            vm = desired.get(guest.name)
            if vm is None:
                continue
            archive = latest.get(guest.vmid)
            policy = policies.get(vm.service_class)
            last = int(archive["ctime"]) if archive else None
            out.append(BackupState(
                cluster, guest.name, guest.vmid, vm.service_class, job_of.get(guest.vmid, ""), last,
                round((now - last) / 3600, 1) if last is not None else None, policy.rpo_hours if policy else None,
                int(archive["size"]) if archive else None, archive["volid"] if archive else "",
            ))
    return out
