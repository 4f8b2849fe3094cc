"""Apply: carry out a plan, phase by phase, with a concurrency limit, and record it.

Phases run in the plan's order (moves, updates, creates, HA rules, deletes); the actions
of a phase run concurrently (``concurrency`` at a time), each a per-guest
:class:`hatang.results.Result`. A failure that retries could not cure stops the apply
after the phase it happened in, with every failed guest and its reason; what was done
stays done, and a re-run plans only what is left (guests are found again by name and
the ``hatang`` tag, so nothing is made twice). Every apply is written to the audit log.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hatang import audit
from hatang.cloud.client import Pve
from hatang.cloud.drift import record_applied
from hatang.cloud.operations import Operations
from hatang.cloud.plan import ClusterPlan, Plan, plan_cluster
from hatang.cloud.plan import plan as make_plan
from hatang.errors import HatangError, UserAbort
from hatang.inventory.inventory import Inventory
from hatang.paths import state_path
from hatang.results import Result, run_per_host

PHASES = ("move", "update", "create", "ha-rule", "delete")


@dataclass
class Step:
    cluster: str
    op: str
    name: str
    ok: bool
    error: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "op": self.op, "name": self.name, "ok": self.ok,
                "error": self.error, "data": self.data, "duration_s": round(self.duration_s, 3)}


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


def _step(cluster: str, op: str, result: Result) -> Step:
    data = {k: v for k, v in result.data.items() if k != "traceback"}  # the error says it; JSON stays readable
    return Step(cluster, op, result.host, result.ok, result.error, data, result.duration_s)


def _apply_cluster(ops: Operations, cplan: ClusterPlan, report: ApplyReport, concurrency: int, show_progress: bool) -> None:
    for phase in PHASES:
        if phase == "ha-rule":
            if cplan.of("ha-rule") or cplan.of("create"):
                _sync_rules(ops, cplan, report)
            continue
        actions = cplan.of(phase)
        if not actions:
            continue
        results = run_per_host(
            actions, lambda a: Result(a.name, ok=True, changed=True, data=ops.run(a)), name_of=lambda a: a.name,
            max_workers=concurrency, label=f"{cplan.cluster}: {phase}", show_progress=show_progress,
        )
        report.steps += [_step(cplan.cluster, phase, r) for r in results]
        if results.failed:
            raise ApplyError(report, cplan.cluster, phase)


def _sync_rules(ops: Operations, cplan: ClusterPlan, report: ApplyReport) -> None:
    results = run_per_host([cplan.cluster], lambda _: Result("ha-rules", data=ops.sync_rules(cplan.desired)), show_progress=False)
    report.steps += [_step(cplan.cluster, "ha-rule", r) for r in results]
    if results.failed:
        raise ApplyError(report, cplan.cluster, "ha-rule")


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
          task_timeout_s: float = 300.0, show_progress: bool = True, deep: bool = False) -> ApplyReport:
    """Make every cluster match the inventory; raises ApplyError on a failure it cannot retry."""
    if not yes:
        raise UserAbort("apply changes the clusters: confirm with yes=True (the CLI asks, or takes --yes)")
    if concurrency < 1:
        raise HatangError(f"--concurrency must be at least 1, not {concurrency}")
    the_plan = plan or make_plan(inv, deep=deep)
    report = ApplyReport(the_plan)
    try:
        for cplan in the_plan.clusters:
            if not cplan.changes:
                continue
            pve = Pve.open(inv, cplan.cluster)
            try:
                with exclusive(inv.env, cplan.cluster):
                    current = cplan if plan is None else still_current(inv, cplan)
                    report.api_calls += current.api_calls if plan is not None else 0
                    assert current.view is not None
                    ops = Operations(pve, current.view, task_timeout_s=task_timeout_s)
                    _apply_cluster(ops, current, report, concurrency, show_progress)
            finally:
                report.api_calls += pve.calls
                record_applied(inv, cplan.cluster, cplan.desired)
    finally:
        audit.append("cloud", {"action": "apply", "env": inv.env, "ok": report.ok, "api_calls": report.api_calls,
                               "plan": the_plan.as_dict()["summary"], "steps": [s.as_dict() for s in report.steps]})
    return report
