"""``hatang deploy ROLE``: run a role's pyinfra deploy file with the generated inventory.

pyinfra itself runs the deploy (its CLI, ``pyinfra --json INVENTORY DEPLOY``), in a
child process: its gevent stays out of hatang, and what runs is exactly what an
engineer would run by hand. hatang chooses the hosts (the role's members, narrowed by
``--limit``), passes the login and the inventory's location as pyinfra data, turns
pyinfra's JSON report (never its human log) into one :class:`~hatang.results.Result`
per host, audits the baseline controls the role carries and runs its health checks
(:mod:`.health`) on each host it succeeded on (:func:`verify`), keeps the run's files (inventory, JSON, log) in the state directory,
and appends the run to the audit log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from hatang import audit
from hatang.console import progress
from hatang.deploy.login import login
from hatang.deploy.targets import select
from hatang.errors import HatangError
from hatang.inventory import export
from hatang.inventory.inventory import Inventory
from hatang.paths import state_path
from hatang.results import Result, Results

ROLES_DIR = Path(__file__).parent / "roles"
#: The order ``deploy all`` runs the roles in: the backup server before its clients,
#: the baseline before the services.
ROLE_ORDER = ("backup-server", "base", "proxmox-node", "postgresql", "web-portal")
#: pyinfra's log line opening each operation (the progress, and why a run stopped).
STARTING = "--> Starting operation:"


def roles() -> list[str]:
    """The roles that have a deploy file (``web_portal.py`` is role ``web-portal``)."""
    return sorted(p.stem.replace("_", "-") for p in ROLES_DIR.glob("*.py") if not p.stem.startswith("_"))


def role_file(role: str) -> Path:
    path = ROLES_DIR / f"{role.replace('-', '_')}.py"
    if not path.exists():
        raise HatangError(f"no deploy for role '{role}' (roles: {', '.join(roles())})")
    return path


@dataclass
class DeployRun:
    role: str
    dry: bool
    run_dir: Path
    results: Results = field(default_factory=Results)

    def as_dict(self) -> dict:
        return {"role": self.role, "dry": self.dry, "run_dir": str(self.run_dir), "hosts": [r.as_dict() for r in self.results]}


def results_from(report: dict | None, names: list[str], *, dry: bool, log_file: Path, stopped: str = "") -> Results:
    """One Result per host from pyinfra's ``--json`` report: the operations that changed
    something, the one that failed. ``report`` is None when pyinfra stopped the run
    without one (``stopped`` says why): every host failed. A failed host that no
    operation ran on could not be reached."""
    ran: dict[str, list[str]] = {n: [] for n in names}
    changes: dict[str, list[str]] = {n: [] for n in names}
    failed_op: dict[str, str] = {}
    if report is not None and dry:
        for op in report["plan"]:
            for name in op["hosts_with_change"] + op["hosts_with_conditional_change"]:
                changes.setdefault(name, []).append(op["name"])
    elif report is not None:
        for op in report["results"]["operations"]:
            for name in op["success"]:
                changes.setdefault(name, []).append(op["name"])
            for name in op["error"]:
                failed_op.setdefault(name, op["name"])
            for name in (*op["success"], *op["error"], *op["no_change"]):
                ran.setdefault(name, []).append(op["name"])
    failed = set(names) if report is None else {*((report.get("results") or {}).get("failed_hosts", [])), *failed_op}
    results = Results()
    for name in names:
        if report is None:
            error = f"pyinfra stopped the run: {stopped} (log: {log_file})"
        elif name in failed_op:
            error = f"{failed_op[name]}: failed (log: {log_file})"
        elif name in failed and not ran[name]:
            error = f"could not connect: pyinfra ran no operation (log: {log_file})"
        else:
            error = f"pyinfra reported the host as failed (log: {log_file})" if name in failed else ""
        results.add(Result(host=name, ok=name not in failed, changed=bool(changes[name]), diff="\n".join(changes[name]),
                           error=error, data={"operations": changes[name]}))
    return results


def stop_reason(log_lines: list[str], returncode: int) -> str:
    """Why pyinfra stopped without a JSON report (every host failed, or an operation
    raised): its last line, and the operation it had started last, from its log."""
    last = next((line.strip() for line in reversed(log_lines) if line.strip()), f"exit {returncode}")
    operation = next((line.split(":", 1)[1].strip() for line in reversed(log_lines) if line.startswith(STARTING)), "")
    return f"{last} (last operation started: {operation})" if operation else last


def verify(inv: Inventory, role: str, results: Results) -> Results:
    """On the hosts ``role`` succeeded on: the baseline controls it carries, audited, and
    its health checks (:mod:`.health`), run. A host whose controls still fail, or whose
    role is not healthy, is failed, naming them (never "ok, unchanged" while they fail)."""
    from hatang.deploy.baseline.audit import audit as audit_baseline
    from hatang.deploy.baseline.controls import CONTROLS
    from hatang.deploy.health import check_hosts

    ok = [r.host for r in results if r.ok]
    if not ok:
        return results
    hosts, who = select(inv, ok, role=role), login(inv.env)
    audited = audit_baseline(inv, hosts, who, role=role, show_progress=False).by_host if any(role in c.roles for c in CONTROLS) else {}
    healthy = check_hosts(hosts, who, role=role, show_progress=False).by_host
    checked = Results()
    for r in results:
        a, h = audited.get(r.host), healthy.get(r.host)
        if a is not None and not a.ok:
            r = replace(r, ok=False, error=f"the deploy did not repair the baseline: {a.error}" if a.data.get("controls") else f"verifying the baseline: {a.error}")
        elif h is not None and not h.ok:
            r = replace(r, ok=False, error=f"the role's health check failed: {h.error}" if h.data.get("health") else f"checking the role's health: {h.error}")
        data = {**r.data, **({"baseline": a.data.get("controls", [])} if a is not None else {}),
                **({"health": h.data.get("health", [])} if h is not None else {})}
        checked.add(replace(r, data=data))
    return checked


def _pyinfra() -> str:
    return str(Path(sys.executable).with_name("pyinfra"))


def run(inv: Inventory, role: str, *, limit: list[str] | None = None, dry: bool = False, show_progress: bool = True) -> DeployRun:
    """Run ``role`` on its servers (those matching ``limit``) and record the run."""
    deploy_file = role_file(role)
    hosts = select(inv, limit, role=role)
    names = [h.name for h in hosts]
    who = login(inv.env)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    run_dir = state_path("deploy", "runs", f"{stamp}-{role}{'-dry' if dry else ''}")
    (run_dir / "inventory.py").write_text(export.export(inv, "pyinfra")["inventory.py"])
    data = [*who.pyinfra_data(), f"hatang_inventory={inv.directory}", f"hatang_env={inv.env}"]
    argv = [_pyinfra(), "--json", "--dry" if dry else "--yes", *(a for n in names for a in ("--limit", n)),
            *(a for d in data for a in ("--data", d)), str(run_dir / "inventory.py"), str(deploy_file)]
    log_lines: list[str] = []
    json_file, log_file = run_dir / "pyinfra.json", run_dir / "pyinfra.log"
    with progress(f"deploy {role}", len(names), enabled=show_progress) as tick, json_file.open("w") as json_out:
        proc = subprocess.Popen(argv, stdout=json_out, stderr=subprocess.PIPE, text=True, cwd=run_dir)
        assert proc.stderr is not None
        for line in proc.stderr:  # the log streams (for the progress and the run's files); the JSON report goes to its file
            log_lines.append(line)
            if line.startswith(STARTING):
                tick(0, description=f"deploy {role}: {line.split(':', 1)[1].strip()}")
        proc.wait()
        tick(len(names))
    log_file.write_text("".join(log_lines))
    try:
        report = json.loads(json_file.read_text())
    except json.JSONDecodeError:
        report = None
    results = results_from(report, names, dry=dry, log_file=log_file, stopped=stop_reason(log_lines, proc.returncode))
    outcome = DeployRun(role, dry, run_dir, results if dry else verify(inv, role, results))
    audit.append("deploy", {
        "role": role, "dry": dry, "environment": inv.env, "run_dir": str(run_dir),
        "hosts": {r.host: {"ok": r.ok, "changed": r.changed, "operations": r.data["operations"], "error": r.error} for r in outcome.results},
    })
    return outcome


def run_all(inv: Inventory, *, limit: list[str] | None = None, dry: bool = False, show_progress: bool = True) -> list[DeployRun]:
    """Every role on its servers (those matching ``limit``), in :data:`ROLE_ORDER`."""
    hosts = select(inv, limit)
    order = [*ROLE_ORDER, *(r for r in roles() if r not in ROLE_ORDER)]
    runs = []
    for role in order:
        members = [h.name for h in hosts if role in h.roles]
        if members:
            runs.append(run(inv, role, limit=members, dry=dry, show_progress=show_progress))
    return runs
