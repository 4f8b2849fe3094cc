"""``hatang cloud backups --run-now``: start hatang's backup jobs now, as PVE's "Run now".

pve-manager's GUI (www/manager6/dc/Backup.js, ``run_backup_now``) posts a job's settings,
less the keys that only schedule it (id, schedule, enabled, comment, node, next-run,
repeat-missed…), to ``POST /nodes/{node}/vzdump`` on each online node; vzdump backs up
the guests of the list that run there and skips the others. hatang posts to the nodes
that hold the job's guests, each with its own guests, then waits on every task (one
deadline for all, a progress bar) and reads the backup stores again: a guest is ``ok``
when a new archive of it is there, ``failed`` otherwise, with the error its task logged
for it (``ERROR: Backup of VM N failed - …``) or the task's exit status. A guest on an
offline node is failed without a task. Only hatang's jobs (``hatang-bk-*``) are run,
never another's; every run is written to the audit log (``cloud``).
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from hatang import audit
from hatang.cloud.backup_report import read_archives
from hatang.cloud.backups import JOB_PREFIX
from hatang.cloud.client import Pve, succeeded
from hatang.cloud.desired import desired_state
from hatang.cloud.observed import ClusterView, read_cluster
from hatang.cloud.retry import with_backoff
from hatang.console import progress
from hatang.errors import HatangError
from hatang.inventory.inventory import Inventory

# What the GUI's run_backup_now deletes from a job before posting it to vzdump.
SCHEDULING = frozenset(("id", "type", "schedule", "enabled", "comment", "node", "starttime", "dow",
                        "next-run", "repeat-missed"))
_GUEST_ERROR = re.compile(r"ERROR: Backup of (?:VM|CT) (\d+) failed - (.*)")
POLL_S = 0.5


@dataclass(frozen=True)
class GuestRun:
    cluster: str
    guest: str
    vmid: int
    node: str
    job: str
    ok: bool
    volid: str = ""
    error: str = ""


@dataclass
class NodeTask:
    cluster: str
    node: str
    job: str
    vmids: tuple[int, ...]
    upid: str = ""
    exitstatus: str = ""  # empty while running
    log: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    guests: list[GuestRun]
    tasks: list[NodeTask]
    duration_s: float

    @property
    def ok(self) -> bool:
        return all(g.ok for g in self.guests)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "duration_s": round(self.duration_s, 1), "guests": [asdict(g) for g in self.guests],
                "tasks": [{k: v for k, v in asdict(t).items() if k != "log"} for t in self.tasks]}


def job_vmids(job: dict[str, Any]) -> list[int]:
    return sorted({int(v) for v in str(job.get("vmid") or "").replace(";", ",").split(",") if v.strip().isdigit()})


def vzdump_params(job: dict[str, Any], vmids: list[int]) -> dict[str, Any]:
    """The job's settings as the GUI's "Run now" posts them, narrowed to one node's guests."""
    return {**{k: v for k, v in job.items() if k not in SCHEDULING}, "vmid": ",".join(map(str, vmids))}


def hatang_jobs(view: ClusterView, classes: list[str] | None) -> dict[str, dict[str, Any]]:
    """hatang's jobs on the cluster: of the classes named, or all."""
    return {job_id: job for job_id, job in sorted(view.backup_jobs.items())
            if job_id.startswith(JOB_PREFIX) and (not classes or job_id[len(JOB_PREFIX):] in classes)}


def _check_found(plans: list[tuple[Pve, ClusterView, dict[str, dict[str, Any]], set[str]]], classes: list[str] | None) -> None:
    found = {job_id for _, _, jobs, _ in plans for job_id in jobs}
    missing = [JOB_PREFIX + c for c in classes or [] if JOB_PREFIX + c not in found]
    if missing or not found:
        raise HatangError(f"no backup job {', '.join(missing) or 'of hatang'} on {', '.join(v.cluster for _, v, _, _ in plans)}: "
                          "'hatang cloud apply' creates them (one per service class with guests)")


def _status(pve: Pve, task: NodeTask) -> None:
    status = with_backoff(lambda: pve.get(f"nodes/{task.node}/tasks/{task.upid}/status"))
    if status.get("status") == "stopped":
        task.exitstatus = str(status.get("exitstatus") or "unknown")
        if task.exitstatus != "OK":
            lines = with_backoff(lambda: pve.get(f"nodes/{task.node}/tasks/{task.upid}/log", limit=1000))
            task.log = [str(line.get("t", "")) for line in lines]


def _wait(running: list[tuple[Pve, NodeTask]], timeout_s: float, show_progress: bool) -> None:
    deadline = time.monotonic() + timeout_s
    with progress("backups running", len(running), enabled=show_progress) as tick:
        while True:
            for pve, task in running:
                if not task.exitstatus:
                    _status(pve, task)
                    if task.exitstatus:
                        tick(description=f"{task.cluster} {task.node}: {task.exitstatus}")
            if all(t.exitstatus for _, t in running) or time.monotonic() >= deadline:
                return
            time.sleep(POLL_S)


def _guest_error(task: NodeTask, vmid: int, timeout_s: float) -> str:
    if not task.upid:
        return task.exitstatus
    if not task.exitstatus:
        return f"task {task.upid} still running after {timeout_s:g} s (PVE goes on with it: 'hatang cloud backups' shows its outcome later)"
    for line in task.log:
        found = _GUEST_ERROR.search(line)
        if found and int(found.group(1)) == vmid:
            return found.group(2)
    if succeeded(task.exitstatus):
        return f"task {task.upid} ended {task.exitstatus} but no new archive of {vmid} is in the backup store"
    return f"task on {task.node} failed: {task.exitstatus}"


def run_now(inv: Inventory, *, clusters: list[str] | None = None, classes: list[str] | None = None,
            timeout_s: float = 3600.0, show_progress: bool = True) -> RunReport:
    """Start hatang's backup jobs now on every cluster (or those named), wait, report per guest."""
    wanted = desired_state(inv)
    started = time.monotonic()
    unknown = [c for c in clusters or [] if c not in wanted]
    if unknown:
        raise HatangError(f"unknown cluster {', '.join(unknown)}; the inventory declares: {', '.join(sorted(wanted))}")
    plans: list[tuple[Pve, ClusterView, dict[str, dict[str, Any]], set[str]]] = []
    for cluster in clusters or sorted(wanted):
        pve = Pve.open(inv, cluster)
        view = read_cluster(pve, wanted_names={vm.name for vm in wanted[cluster]}, ct_template_storage=None)
        jobs = hatang_jobs(view, classes)
        storages = {str(job.get("storage")) for job in jobs.values()}
        before = {a["volid"] for a in read_archives(pve, view, storages)}
        plans.append((pve, view, jobs, before))
    _check_found(plans, classes)
    running: list[tuple[Pve, NodeTask]] = []
    tasks: list[NodeTask] = []
    for pve, view, jobs, _ in plans:
        by_vmid = {g.vmid: g for g in view.guests}
        for job_id, job in jobs.items():
            nodes: dict[str, list[int]] = {}
            for vmid in job_vmids(job):
                if vmid in by_vmid:
                    nodes.setdefault(by_vmid[vmid].node, []).append(vmid)
            for node, vmids in sorted(nodes.items()):
                task = NodeTask(view.cluster, node, job_id, tuple(vmids))
                tasks.append(task)
                if not view.nodes.get(node) or not view.nodes[node].online:
                    task.exitstatus = f"node {node} is offline: not backed up"
                    continue
                task.upid = str(pve.post(f"nodes/{node}/vzdump", **vzdump_params(job, vmids)))
                running.append((pve, task))
    _wait(running, timeout_s, show_progress)
    guests: list[GuestRun] = []
    for pve, view, jobs, before in plans:
        names = {g.vmid: g.name for g in view.guests}
        storages = {str(job.get("storage")) for job in jobs.values()}
        new = {int(a["vmid"]): a["volid"] for a in sorted(read_archives(pve, view, storages), key=lambda a: int(a.get("ctime", 0)))
               if a["volid"] not in before and a.get("vmid")}
        for task in (t for t in tasks if t.cluster == view.cluster):
            for vmid in task.vmids:
                ok = vmid in new
                guests.append(GuestRun(view.cluster, names.get(vmid, str(vmid)), vmid, task.node, task.job, ok,
                                       new.get(vmid, ""), "" if ok else _guest_error(task, vmid, timeout_s)))
    report = RunReport(sorted(guests, key=lambda g: (g.cluster, g.guest)), tasks, time.monotonic() - started)
    audit.append("cloud", {"action": "backup-run", "env": inv.env, **report.as_dict()})
    return report
