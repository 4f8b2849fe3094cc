"""Run a runbook's diagnostics: generic, concurrent, read-only, one finding per check.

The runbook says which checks to run on which role (target, uplink, downlinks, core);
this module binds each to the devices of that role, runs them all concurrently through
:func:`hatang.results.run_per_host` (one failing check never stops the others) and
derives the next step from the findings.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timezone

from hatang.inventory.inventory import Inventory
from hatang.inventory.reorganisation import display_name
from hatang.results import Result, run_per_host
from hatang.runbooks import access, advice, scope
from hatang.runbooks.catalog import Diagnostic, Runbook
from hatang.runbooks.checks import CHECKS, reachability, service
from hatang.runbooks.context import CheckContext, Subject
from hatang.runbooks.findings import Finding, Report

MAX_PARALLEL_CHECKS = 12


@dataclass(frozen=True)
class Job:
    index: int
    diagnostic: Diagnostic
    target: str
    subject: Subject | None

    @property
    def name(self) -> str:
        device = self.subject.device if self.subject else "-"
        return f"{self.index}:{self.diagnostic.role}:{device}:{self.diagnostic.check}"


def plan(inv: Inventory, runbook: Runbook, target: str, present: Collection[str]) -> list[Job]:
    """One job per declared diagnostic and device of its role; a role with no device
    here (the core has no uplink) is one job without a subject, reported as skipped."""
    jobs: list[Job] = []
    for diagnostic in runbook.meta.diagnostics:
        found = scope.subjects(inv, target, diagnostic.role, present)
        for subject in found or [None]:
            jobs.append(Job(len(jobs), diagnostic, target, subject))
    return jobs


def _finding(job: Job, result: Result) -> Finding:
    role, check = job.diagnostic.role, job.diagnostic.check
    if job.subject is None:
        return Finding(check, role, "-", "skip", f"{job.target} has no {role.removesuffix('s')} neighbour here")
    if not result.ok:
        return Finding(check, role, job.subject.device, "error", f"no answer: {result.error}", error=result.error, duration_s=round(result.duration_s, 2))
    outcome = result.data["outcome"]
    return Finding(check, role, job.subject.device, outcome.status, outcome.summary, outcome.details, outcome.data, duration_s=round(result.duration_s, 2))


def facts(inv: Inventory, target: str) -> dict[str, str]:
    """What the advice text may name about the target and its uplink: ``site`` is the
    slug a command takes, ``site_name`` the name people read (the 2025 unit first)."""
    site = inv.device(target).site
    values = {"target": target, "site": site, "site_name": display_name(inv, inv.sites[site]), "core": scope.core_router(inv) or "?"}
    uplink = inv.uplink(target)
    if uplink is not None and uplink.peer:
        facing = [p.name for p in inv.ports(uplink.peer) if p.peer == target]
        values |= {
            "uplink": uplink.peer,
            "target_port": uplink.name,
            "uplink_port": facing[0] if facing else "?",
            "link": uplink.link.id if uplink.link else "?",
        }
    return values


def timeouts() -> dict[str, float]:
    """The time limits the checks keep to, stated in every report."""
    return {
        "mgmt_ping_wait_s": reachability.PING_WAIT_S,
        "mgmt_ssh_s": reachability.SSH_TIMEOUT_S,
        "driver_s": access.DRIVER_TIMEOUT_S,
        "loopback_ping_s": reachability.LOOPBACK_PING_TIMEOUT_S,
        "snmp_s": access.SNMP_TIMEOUT_S,
        "http_s": service.HTTP_TIMEOUT_S,
    }


def diagnose(
    inv: Inventory,
    runbook: Runbook,
    target: str,
    present: Collection[str],
    drivers: access.DriverPool,
    *,
    show_progress: bool = True,
) -> Report:
    """Run ``runbook``'s diagnostics on device ``target`` and its neighbours."""
    started, clock = datetime.now(timezone.utc), time.monotonic()
    core = scope.core_router(inv)
    jobs = plan(inv, runbook, target, present)

    def run(job: Job) -> Result:
        if job.subject is None:
            return Result(host=job.name)
        ctx = CheckContext(inv, job.subject, target, core, job.diagnostic.params, drivers, started)
        return Result(host=job.name, data={"outcome": CHECKS[job.diagnostic.check](ctx)})

    results = run_per_host(jobs, run, name_of=lambda j: j.name, max_workers=MAX_PARALLEL_CHECKS, label=f"{runbook.alert} on {target}", show_progress=show_progress)
    findings = [_finding(job, results.by_host[job.name]) for job in jobs]
    known = facts(inv, target)
    step = advice.advise(runbook.meta.next_steps, findings, known)
    return Report(
        alert=runbook.alert,
        runbook=str(runbook.path.relative_to(runbook.path.parent.parent)),
        target=target,
        site=known["site"],
        site_name=known["site_name"],
        env=inv.env,
        started=started.isoformat(timespec="seconds"),
        duration_s=round(time.monotonic() - clock, 2),
        findings=findings,
        next_step={"vi": step.vi, "en": step.en},
        timeouts=timeouts(),
    )


def run(
    inv: Inventory,
    runbook: Runbook,
    site: str,
    *,
    factory: access.DriverFactory = access.napalm_driver,
    present: Collection[str] | None = None,
    show_progress: bool = True,
) -> list[Report]:
    """Diagnose every router at SITE (a site slug, GSO code or device name)."""
    inv.find_site(site)  # an unknown site is the first thing to tell
    present = scope.present_devices(inv) if present is None else present
    with access.DriverPool(inv, factory) as drivers:
        return [diagnose(inv, runbook, device, present, drivers, show_progress=show_progress) for device in scope.targets(inv, site, present)]
