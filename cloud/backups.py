"""Backup jobs: one PVE backup job per service class and cluster, from the inventory's policies.

A job ``hatang-bk-<class>`` backs up, by id, every guest of that class on the cluster, on
the policy's schedule, storage and mode, pruned as the policy keeps (``prune-backups``).
hatang owns the jobs whose id starts with ``hatang-bk-`` and never touches another job.
Jobs are planned like guests (``backup-job`` actions, each with what changes) and set
after the guests exist (their ids are known only then), so that after an apply
``/cluster/backup-info/not-backed-up`` lists none of hatang's guests. Writing jobs needs
``Sys.Modify`` on ``/`` (pve-manager's API2/Backup.pm): docs/cloud.md. A class with
guests and no policy is a plan problem; a policy naming a storage the cluster lacks is
a plan warning (the guests are still made, without backup).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hatang.cloud.desired import DesiredVm
from hatang.inventory import model as m
from hatang.inventory.inventory import Inventory

JOB_PREFIX = "hatang-bk-"
COMPARED = ("schedule", "storage", "mode", "prune-backups", "enabled")


@dataclass(frozen=True)
class DesiredJob:
    id: str
    service_class: str
    members: tuple[str, ...]  # guest names, sorted
    params: tuple[tuple[str, str], ...]  # the job's settings as PVE stores them

    @property
    def settings(self) -> dict[str, str]:
        return dict(self.params)


def prune_backups(policy: m.BackupPolicy) -> str:
    """PVE's ``prune-backups`` property string (keys sorted, as PVE prints them)."""
    keep = {"keep-daily": policy.keep_daily, "keep-monthly": policy.keep_monthly, "keep-weekly": policy.keep_weekly}
    return ",".join(f"{key}={value}" for key, value in sorted(keep.items()) if value)


def desired_jobs(inv: Inventory, desired: list[DesiredVm]) -> tuple[list[DesiredJob], list[str]]:
    """The jobs one cluster's guests need, and the classes with guests but no policy."""
    jobs, problems = [], []
    for service_class in sorted({vm.service_class for vm in desired}):
        members = tuple(sorted(vm.name for vm in desired if vm.service_class == service_class))
        policy = inv.backup_policy_by_class.get(service_class)
        if policy is None:
            problems.append(f"no backup policy for service class '{service_class}' in inventory/services.yaml (backup_policies): "
                            f"{', '.join(members)} would have no backup")
            continue
        params = {"schedule": policy.schedule, "storage": policy.storage, "mode": policy.mode,
                  "prune-backups": prune_backups(policy), "enabled": "1"}
        jobs.append(DesiredJob(JOB_PREFIX + service_class, service_class, members, tuple(sorted(params.items()))))
    return jobs, problems


def job_changes(job: DesiredJob, current: dict[str, Any] | None, vmids: dict[str, int]) -> list[tuple[str, str, str]]:
    """(field, old, new) where the job on the cluster differs from the wanted one."""
    if current is None:
        return [("job", "none", f"{job.settings['schedule']} → {job.settings['storage']}, {len(job.members)} guest(s)")]
    out = [(key, str(current.get(key, "")), value) for key, value in job.params if str(current.get(key, "")) != value]
    have = sorted(v for v in str(current.get("vmid") or "").split(",") if v)
    want = sorted(str(vmids[name]) for name in job.members if name in vmids)
    if have != want or len(want) < len(job.members):
        out.append(("vmid", ",".join(have) or "none", ",".join(job.members)))
    return out


def job_params(job: DesiredJob, vmids: dict[str, int]) -> dict[str, Any]:
    """The POST/PUT of a job with the ids its guests have now."""
    return {**job.settings, "vmid": ",".join(str(vmids[n]) for n in job.members if n in vmids),
            "comment": f"hatang: backup policy of class {job.service_class}"}
