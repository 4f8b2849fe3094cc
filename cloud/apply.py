"""Apply: carry out a plan, phase by phase, with a concurrency limit, and record it.

Phases run in the plan's order (moves, updates, creates, HA rules, deletes); the actions
of a phase run concurrently (``concurrency`` at a time), each a per-guest
:class:`hatang.results.Result`. A failure that retries could not cure stops the apply
after the phase it happened in, with every failed guest and its reason; what was done
stays done, and a re-run plans only what is left (guests are found again by name and
the ``hatang`` tag, so nothing is made twice). Every apply is written to the audit log.

Before anything changes, the token's privileges are checked against what apply needs
(:mod:`hatang.cloud.privileges`). With ``reboot``, a last phase restarts the running VMs
whose CPU or memory change PVE holds pending: one node at a time, each VM waited for
until it runs again, never both members of an anti-affinity group at once, and not at
all while a member's partner is down (the pair would be down together).
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from hatang import audit
from hatang.cloud.client import Pve
from hatang.cloud.drift import record_applied
from hatang.cloud.operations import Operations
from hatang.cloud.plan import Action, ClusterPlan, Plan, desired_rules, plan_cluster
from hatang.cloud.privileges import require_apply_privileges
from hatang.cloud.plan import plan as make_plan
from hatang.errors import HatangError, UserAbort
from hatang.inventory.inventory import Inventory
from hatang.paths import state_path
from hatang.results import Result, Results, run_per_host

T = TypeVar("T")
PHASES = ("move", "update", "create", "ha-rule", "delete", "backup-job")


@dataclass
class Step(Result):
    """One action of an apply: a :class:`hatang.results.Result` for one guest (or one
    cluster-wide sync) with the cluster and the phase (``op``) it ran in."""

    cluster: str = ""
    op: str = ""

    @property
    def name(self) -> str:
        return self.host

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.data.items() if k != "traceback"}  # the error says it; JSON stays readable
        return {"cluster": self.cluster, "op": self.op, "name": self.host, "ok": self.ok,
                "error": self.error, "data": data, "duration_s": round(self.duration_s, 3)}


@dataclass
class ApplyReport:
    plan: Plan
    steps: list[Step] = field(default_factory=list)
    api_calls: int = 0

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def failed(self) -> list[Step]:
        return [s for s in self.steps if not s.ok]

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "api_calls": self.api_calls, "steps": [s.as_dict() for s in self.steps],
                "problems": self.plan.problems, "warnings": self.plan.warnings}


class ApplyError(HatangError):
    """An apply stopped on a failure; ``report`` holds what was done and what failed."""

    def __init__(self, report: ApplyReport, cluster: str, phase: str):
        failed = report.failed
        super().__init__(
            f"apply stopped in {cluster} ({phase}): {len(failed)} action(s) failed; later phases were not started",
            details=[f"{s.op} {s.name}: {s.error}" for s in failed]
            + ["fix the cause and run 'hatang cloud apply' again: it finds what exists by name and tag, and never duplicates"],
        )
        self.report = report


def _steps(cplan: ClusterPlan, op: str, items: list[T], task: Callable[[T], dict[str, Any]], *, name_of: Callable[[T], str],
           concurrency: int = 1, label: str = "", show_progress: bool = False) -> Results[Step]:
    """Run ``task`` on each item through run_per_host, each outcome a Step of ``op``
    (what the task returns is its data), and add them to the report's steps."""
    step = partial(Step, cluster=cplan.cluster, op=op)
    return run_per_host(items, lambda item: step(name_of(item), changed=True, data=task(item)), name_of=name_of,
                        max_workers=concurrency, label=label or f"{cplan.cluster}: {op}", show_progress=show_progress, result_type=step)


def _apply_cluster(ops: Operations, cplan: ClusterPlan, report: ApplyReport, concurrency: int, show_progress: bool) -> None:
    for phase in PHASES:
        if phase == "ha-rule":
            if cplan.of("ha-rule") or cplan.of("create"):
                _sync_rules(ops, cplan, report)
            continue
        if phase == "backup-job":
            if cplan.of("backup-job") or cplan.of("create") or cplan.of("delete"):
                _sync(ops.sync_jobs, cplan, report, "backup-job", "backup-jobs")
            continue
        actions = cplan.of(phase)
        if not actions:
            continue
        results = _steps(cplan, phase, actions, ops.run, name_of=lambda a: a.name, concurrency=concurrency, show_progress=show_progress)
        report.steps += results
        if results.failed:
            raise ApplyError(report, cplan.cluster, phase)


def reboot_waves(actions: list[Action]) -> list[list[Action]]:
    """Reboots grouped one node at a time (nodes by name), a node's group split so that no
    wave holds two members of one anti-affinity group."""
    waves: list[list[Action]] = []
    for node in sorted({a.node or "" for a in actions}):
        rest = sorted((a for a in actions if (a.node or "") == node), key=lambda a: a.name)
        while rest:
            wave, groups = [], set()
            for action in list(rest):
                group = action.desired.anti_affinity if action.desired else None
                if group is None or group not in groups:
                    wave.append(action)
                    groups.add(group) if group else None
                    rest.remove(action)
            waves.append(wave)
    return waves


def _partners_down(ops: Operations, cplan: ClusterPlan, wave: list[Action]) -> list[str]:
    """Members of this wave whose anti-affinity partner is not running now."""
    running = {r.get("name") for r in ops.call("GET", "cluster/resources", type="vm") if r.get("status") == "running"}
    out = []
    for members in desired_rules(cplan.desired).values():
        names = {m.name for m in members}
        for action in wave:
            if action.name in names and any(other not in running for other in names - {action.name}):
                out.append(f"{action.name}: its anti-affinity partner ({', '.join(sorted(names - {action.name}))}) is not running")
    return out


def _reboot(inv: Inventory, ops: Operations, cplan: ClusterPlan, report: ApplyReport, concurrency: int, show_progress: bool) -> None:
    """The reboot phase, from a fresh plan (the updates just made may have left more pending)."""
    fresh = plan_cluster(inv, cplan.cluster, cplan.desired)
    assert fresh.view is not None
    ops.view = fresh.view
    for wave in reboot_waves(fresh.of("reboot")):
        down = _partners_down(ops, cplan, wave)
        if down:
            report.steps += [Step(a.name, ok=False, error="not rebooted: " + d, cluster=cplan.cluster, op="reboot") for a, d in zip(wave, down)]
            raise ApplyError(report, cplan.cluster, "reboot")
        results = _steps(cplan, "reboot", wave, ops.run, name_of=lambda a: a.name, concurrency=concurrency,
                         label=f"{cplan.cluster}: reboot {wave[0].node}", show_progress=show_progress)
        report.steps += results
        if results.failed:
            raise ApplyError(report, cplan.cluster, "reboot")


def _sync_rules(ops: Operations, cplan: ClusterPlan, report: ApplyReport) -> None:
    _sync(lambda c: ops.sync_rules(c.desired), cplan, report, "ha-rule", "ha-rules")


def _sync(action: Callable[[ClusterPlan], dict[str, Any]], cplan: ClusterPlan, report: ApplyReport, op: str, name: str) -> None:
    """A cluster-wide step (HA rules, backup jobs) as one result."""
    results = _steps(cplan, op, [cplan], action, name_of=lambda _: name)
    report.steps += results
    if results.failed:
        raise ApplyError(report, cplan.cluster, op)


@contextmanager
def exclusive(env: str, cluster: str) -> Iterator[None]:
    """One apply per cluster at a time from this machine (two would race to create the same guests)."""
    path = state_path("cloud") / f"apply-{env}-{cluster}.lock"
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise HatangError(f"another 'hatang cloud apply' is running on cluster {cluster}; wait for it to finish") from None
        yield


def _signature(cplan: ClusterPlan) -> list[tuple]:
    return [(a.op, a.name, a.vmid, a.node, a.target, tuple(a.changes)) for a in cplan.changes]


def still_current(inv: Inventory, cplan: ClusterPlan) -> ClusterPlan:
    """The cluster read again: a plan made earlier (and read by a person) is applied only
    if the cluster would still get exactly those changes, as Terraform refuses a stale plan."""
    fresh = plan_cluster(inv, cplan.cluster, cplan.desired, deep=cplan.deep)
    if _signature(fresh) != _signature(cplan):
        then = {f"{a.op} {a.name}" for a in cplan.changes}
        now = {f"{a.op} {a.name}" for a in fresh.changes}
        raise HatangError(
            f"{cplan.cluster} changed since the plan was made: nothing applied there; run 'hatang cloud plan' again and review it",
            details=[f"no longer planned: {x}" for x in sorted(then - now)] + [f"newly planned: {x}" for x in sorted(now - then)]
            or ["the same guests, with different changes"],
        )
    return fresh


def apply(inv: Inventory, *, yes: bool = True, concurrency: int = 4, plan: Plan | None = None,
          task_timeout_s: float = 300.0, show_progress: bool = True, deep: bool = False, reboot: bool = False) -> ApplyReport:
    """Make every cluster match the inventory; raises ApplyError on a failure it cannot retry.
    ``reboot`` also restarts the VMs whose changes are pending, one node at a time."""
    if not yes:
        raise UserAbort("apply changes the clusters: confirm with yes=True (the CLI asks, or takes --yes)")
    if concurrency < 1:
        raise HatangError(f"--concurrency must be at least 1, not {concurrency}")
    the_plan = plan or make_plan(inv, deep=deep)
    report = ApplyReport(the_plan)
    try:
        for cplan in the_plan.clusters:
            if not cplan.changes and not (reboot and cplan.of("reboot")):
                continue
            pve = Pve.open(inv, cplan.cluster)
            try:
                with exclusive(inv.env, cplan.cluster):
                    require_apply_privileges(pve)
                    current = cplan if plan is None else still_current(inv, cplan)
                    report.api_calls += current.api_calls if plan is not None else 0
                    assert current.view is not None
                    ops = Operations(pve, current.view, task_timeout_s=task_timeout_s)
                    _apply_cluster(ops, current, report, concurrency, show_progress)
                    if reboot:
                        _reboot(inv, ops, current, report, concurrency, show_progress)
            finally:
                report.api_calls += pve.calls
                record_applied(inv, cplan.cluster, cplan.desired)
    finally:
        audit.append("cloud", {"action": "apply", "env": inv.env, "ok": report.ok, "api_calls": report.api_calls,
                               "plan": the_plan.as_dict()["summary"], "steps": [s.as_dict() for s in report.steps]})
    return report
