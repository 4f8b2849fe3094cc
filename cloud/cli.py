"""``hatang cloud``: plan, apply, drift and destroy the Proxmox VE clusters."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hatang.console import info, out, plain, print_json, print_table, status_mark, warn
from hatang.errors import HatangError, UserAbort
from hatang.options import Scope, YesOpt, scoped

if TYPE_CHECKING:
    from hatang.cloud.apply import ApplyReport
    from hatang.cloud.backup_run import RunReport
    from hatang.cloud.plan import Plan
    from hatang.inventory.inventory import Inventory

app = typer.Typer(help="The Proxmox VE private cloud: plan, apply, drift, backups, restore-test, destroy.", no_args_is_help=True)

ClusterOpt = Annotated[list[str] | None, typer.Option("--cluster", "-c", help="Only this cluster (repeatable).")]
DeepOpt = Annotated[bool, typer.Option("--deep", help="Also read each managed guest's config (one call per guest) to catch hand edits of NICs, cloud-init, disks.")]


def _ask(question: str) -> bool:
    """Ask on the terminal; no answer (end of input) is a no."""
    try:
        return typer.confirm(question, err=True)
    except typer.Abort:
        return False


def _show_plan(the_plan: "Plan") -> None:
    rows = []
    for action in the_plan.actions:
        where = action.target if action.op in ("create", "move") else action.node
        what = "; ".join(str(c) for c in action.changes) or action.reason
        rows.append((action.op, action.cluster, action.name, action.vmid, where, what if action.changes else "", action.reason))
    if rows:
        print_table("cloud plan", ["action", "cluster", "guest", "vmid", "node", "changes", "reason"], rows)
    for problem in the_plan.problems:
        out.print(f"[bold red]cannot:[/] {plain(problem)}")
    for warning in the_plan.warnings:
        warn(warning)
    calls = ", ".join(f"{c.cluster} {c.api_calls}" for c in the_plan.clusters)
    summary = the_plan.as_dict()["summary"]
    counts = ", ".join(f"{n} {op}" for op, n in summary.items() if n)
    out.print(("nothing to do: the clusters match the inventory" if the_plan.empty else f"plan: {counts}") + f" (API calls read: {calls})")
    if any(c.of("reboot") for c in the_plan.clusters):
        out.print("pending reboot: PVE applies these CPU/memory changes when the VM restarts; 'hatang cloud apply --reboot' restarts them, one node at a time")


@app.command()
@scoped(ClusterOpt)
def plan(
    scope: Scope,
    deep: DeepOpt = False,
    detailed_exitcode: Annotated[bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes (as Terraform does).")] = False,
) -> None:
    """What apply would change, and why; reads each cluster in API calls independent of its guests.
    Exit 1 when something cannot be done (placement, templates, offline nodes)."""
    from hatang.cloud.plan import plan as make_plan

    the_plan = make_plan(scope.load(), clusters=scope.selected, deep=deep)
    if scope.json:
        print_json(the_plan.as_dict())
    else:
        _show_plan(the_plan)
    if the_plan.problems:
        raise typer.Exit(1)
    if detailed_exitcode and not the_plan.empty:
        raise typer.Exit(2)


@app.command()
@scoped(ClusterOpt)
def apply(
    scope: Scope,
    deep: DeepOpt = False,
    yes: YesOpt = False,
    concurrency: Annotated[int, typer.Option("--concurrency", "-n", min=1, max=32, help="Actions run at once per phase.")] = 4,
    task_timeout: Annotated[float, typer.Option("--task-timeout", help="Seconds to wait for one PVE task.")] = 300.0,
    reboot: Annotated[bool, typer.Option("--reboot", help="Also restart the VMs whose CPU/memory changes are pending (a maintenance window): one node at a time, never both members of an anti-affinity group.")] = False,
) -> None:
    """Carry out the plan: moves, updates, creates, HA rules, deletes; waits on every task.
    With --reboot, then restarts the VMs whose changes PVE holds pending."""
    from hatang.cloud.apply import ApplyError, apply as run_apply
    from hatang.cloud.plan import plan as make_plan

    inv, json = scope.load(), scope.json
    the_plan = make_plan(inv, clusters=scope.selected, deep=deep)
    if not json:
        _show_plan(the_plan)
    reboots = [a for c in the_plan.clusters for a in c.of("reboot")] if reboot else []
    if the_plan.empty and not reboots:
        if json:
            print_json({"ok": True, "steps": [], "plan": the_plan.as_dict()})
        return
    question = f"Apply these {len(the_plan.changes)} change(s)" + (", and reboot the VMs with pending changes" if reboot else "") + "?"
    if not yes and not _ask(question):
        raise UserAbort("nothing applied")
    try:
        report = run_apply(inv, yes=True, concurrency=concurrency, plan=the_plan, task_timeout_s=task_timeout,
                           show_progress=not json, reboot=reboot)
    except ApplyError as exc:
        if json:
            print_json({**exc.report.as_dict(), "error": exc.message, "details": exc.details})
            raise typer.Exit(exc.exit_code) from None
        _show_steps(exc.report)
        raise
    if json:
        print_json(report.as_dict())
        return
    _show_steps(report)
    info(f"applied: {len(report.steps)} step(s), {report.api_calls} API calls")


def _show_steps(report: "ApplyReport") -> None:
    rows = [(s.cluster, s.op, s.name, status_mark(s.ok), s.data.get("vmid", ""), f"{s.duration_s:.1f}s",
             s.error or ("pending reboot: " + ", ".join(s.data["pending_reboot"]) if s.data.get("pending_reboot") else ""))
            for s in report.steps]
    print_table("cloud apply", ["cluster", "action", "guest", "result", "vmid", "took", "error / note"], rows)
    for step in report.steps:
        for line in step.data.get("warnings", []):
            warn(f"PVE task warning: {line}")


@app.command()
@scoped(ClusterOpt)
def drift(scope: Scope, deep: DeepOpt = False) -> None:
    """What changed on the clusters outside hatang since the last apply. Exit 1 on drift."""
    from hatang.cloud.drift import drift as find_drift

    report = find_drift(scope.load(), deep=deep, clusters=scope.selected)
    if scope.json:
        print_json(report.as_dict())
    else:
        for name, baseline in report.baselines.items():
            info(f"{name}: compared with {baseline}")
        if report.items:
            print_table("cloud drift", ["cluster", "guest", "field", "expected", "actual", "note"],
                        [(i.cluster, i.name, i.field, i.expected, i.actual, i.note) for i in report.items])
        else:
            out.print("no drift: the clusters are as hatang left them")
        info(f"API calls: {report.api_calls}")
    if report.items:
        raise typer.Exit(1)


def _when(stamp: int | None) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(stamp)) if stamp else "never"


@app.command()
@scoped(ClusterOpt)
def backups(
    scope: Scope,
    textfile: Annotated[Path | None, typer.Option("--textfile", help="Also write the freshness as Prometheus metrics to this file (node_exporter's textfile collector; alerts HatangBackupStale, HatangBackupFreshnessStale).")] = None,
    every: Annotated[float | None, typer.Option("--every", min=1, help="With --textfile: rewrite it every SECONDS until stopped (a timer where systemd runs none, as in the lab).")] = None,
    run_now: Annotated[bool, typer.Option("--run-now", help="First start hatang's backup jobs now (PVE's 'Run now': a vzdump per node holding their guests), wait, report each guest's run.")] = False,
    classes: Annotated[list[str] | None, typer.Option("--class", help="Only the guests (and, with --run-now, the job) of this service class (repeatable).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="With --run-now: seconds to wait for the backup tasks.")] = 3600.0,
) -> None:
    """Per guest: its last backup, its age against its class's RPO, its size, the job that
    covers it. Exit 1 when a backup is stale or missing, or a forced run failed."""
    from hatang.cloud.backup_metrics import keep_writing, write_textfile
    from hatang.cloud.backup_report import backup_states

    if every is not None:
        if textfile is None or run_now:
            raise HatangError("--every needs --textfile (the file the timer rewrites), and no --run-now", exit_code=2)
        inv = scope.load()
        keep_writing(lambda: backup_states(inv, clusters=scope.selected), textfile, every)
        return
    inv = scope.load()
    known = sorted({vm.service_class for vm in inv.vms()})
    if unknown := [c for c in classes or [] if c not in known]:
        raise HatangError(f"--class {', '.join(unknown)}: no guest of that class in the inventory (classes: {', '.join(known)})", exit_code=2)
    ran = _run_backups(inv, scope, classes, timeout) if run_now else None
    states = [s for s in backup_states(inv, clusters=scope.selected) if not classes or s.service_class in classes]
    if textfile is not None:
        write_textfile(textfile, states)
    if scope.json:
        print_json({**({"run": ran.as_dict()} if ran else {}), "guests": [s.as_dict() for s in states]})
    else:
        print_table("cloud backups", ["cluster", "guest", "class", "last backup", "age (h)", "RPO (h)", "size (MiB)", "job", "status"],
                    [(s.cluster, s.guest, s.service_class, _when(s.last), "" if s.age_h is None else s.age_h, s.rpo_h or "",
                      "" if s.size is None else round(s.size / 2**20), s.job or "none", s.status) for s in states])
    if (ran and not ran.ok) or any(s.status != "fresh" for s in states):
        raise typer.Exit(1)


def _run_backups(inv: "Inventory", scope: Scope, classes: list[str] | None, timeout: float) -> "RunReport":
    """The forced run, its per-guest table shown unless --json."""
    from hatang.cloud.backup_run import run_now

    report = run_now(inv, clusters=scope.selected, classes=classes, timeout_s=timeout, show_progress=not scope.json)
    if not scope.json:
        print_table("backup run", ["cluster", "guest", "node", "job", "result", "archive / error"],
                    [(g.cluster, g.guest, g.node, g.job, status_mark(g.ok), g.volid or g.error) for g in report.guests])
        failed = sum(not g.ok for g in report.guests)
        info(f"backup run: {len(report.guests) - failed} ok, {failed} failed, {len(report.tasks)} task(s), {report.duration_s:.1f} s")
    return report


@app.command("restore-test")
@scoped()
def restore_test(
    scope: Scope,
    service: Annotated[str, typer.Argument(help="The service (inventory/services.yaml) whose newest backup is restored.")],
    guest: Annotated[str | None, typer.Option("--guest", help="This guest of the service (default: the one with the newest backup).")] = None,
    node: Annotated[str | None, typer.Option("--node", help="Restore on this node (default: an online node other than the guest's).")] = None,
    agent_wait: Annotated[float, typer.Option("--agent-wait", min=0, help="Seconds the copy's guest agent may take to answer after its start.")] = 300.0,
) -> None:
    """Restore one guest's newest backup to a fresh, network-less VM, boot it, run its
    role's health check inside it through the guest agent, destroy it; the outcome and
    restore time (RTO) go to the audit log. Exit 1 on failure."""
    from hatang.cloud.restore_test import restore_test as run_test

    result = run_test(scope.load(), service, guest=guest, node=node, agent_wait_s=agent_wait)
    if scope.json:
        print_json(result.as_dict())
    else:
        print_table(f"restore test of {service}", ["check", "result"],
                    [*((name, status_mark(ok)) for name, ok in result.checks.items()), ("role check", result.role_check),
                     *((f"  {c['role']}: {c['check']}", status_mark(c["passed"]) if c["exitcode"] is not None else c["note"])
                       for c in result.role_commands),
                     ("cleaned up", status_mark(result.cleaned_up))])
        out.print(f"{result.guest} ({result.archive}, {result.backup_age_h} h old) → VM {result.test_vmid} on {result.node}: "
                  f"{'OK' if result.ok else 'FAILED'}, RTO {result.rto_s if result.rto_s is not None else '-'} s")
        if result.error:
            warn(result.error)
    if not result.ok:
        raise typer.Exit(1)


@app.command()
@scoped()
def destroy(scope: Scope, name: Annotated[str, typer.Argument(help="The guest's name.")], yes: YesOpt = False) -> None:
    """Destroy one guest hatang manages (tagged 'hatang'); asks first unless --yes."""
    from hatang.cloud.destroy import destroy as run_destroy

    result = run_destroy(scope.load(), name, confirm=lambda q: yes or _ask(q))
    if scope.json:
        print_json(result)
        return
    out.print(plain(f"destroyed {name} (vmid {result['vmid']}, {result['cluster']})"))
    if result["note"]:
        warn(result["note"])
