"""``hatang deploy ROLE``: run a role's pyinfra deploy file with the generated inventory.

pyinfra itself runs the deploy (its CLI, ``pyinfra --json INVENTORY DEPLOY``), in a
child process: its gevent stays out of hatang, and what runs is exactly what an
engineer would run by hand. hatang chooses the hosts (the role's members, narrowed by
``--limit``), passes the login and the inventory's location as pyinfra data, turns
pyinfra's JSON into one :class:`~hatang.results.Result` per host, keeps the run's files
(inventory, JSON, log) in the state directory, and appends the run to the audit log.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
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
#: pyinfra's log lines about one host: ``[name] message``.
HOST_LINE = re.compile(r"^\[(?P<host>[^\]]+)\]\s+(?P<message>.*)$")
#: An operation that raised instead of failing: pyinfra logs the exception and the host.
EXCEPTION_LINE = re.compile(r"^[\w.]*(Error|Exception): ")
CRASHED = re.compile(r"Host\((?P<host>[^)]+)\).*failed with")
CONNECT_ERRORS = ("could not connect", "connection refused", "timed out", "no route", "authentication failed", "host key")


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


def parse_log(log: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """From pyinfra's log: what went wrong on each host (the operation that failed and
    the host's last lines of output, or why pyinfra could not connect), and the
    operations that changed something on each host."""
    errors: dict[str, str] = {}
    changed: dict[str, list[str]] = {}
    operation = ""
    output: dict[str, list[str]] = {}
    exception = ""
    for raw in log.splitlines():
        line = raw.strip()
        crashed = CRASHED.search(line)
        if EXCEPTION_LINE.match(line):
            exception = line.split(": ", 1)[1]
        elif crashed:  # an operation raised: pyinfra names the host in the greenlet's line
            errors[crashed["host"]] = f"{operation}: {exception}"
            continue
        if line.startswith("--> Starting operation:"):
            operation, output = line.split(":", 1)[1].strip(), {}
            continue
        match = HOST_LINE.match(line)
        if not match:
            continue
        name, message = match["host"], match["message"].strip()
        if message.startswith("Error"):
            said = [m for m in output.get(name, []) if m][-3:]
            errors[name] = f"{operation or 'connecting'}: {' / '.join(said) or message}"
        elif any(word in message.lower() for word in CONNECT_ERRORS):
            errors.setdefault(name, message)
        elif message == "Success":
            changed.setdefault(name, []).append(operation)
        else:
            output.setdefault(name, []).append(message)
    return errors, changed


def results_from(report: dict | None, names: list[str], log: str, *, dry: bool) -> Results:
    """One Result per host from pyinfra's ``--json`` report (None when pyinfra stopped
    the run: no host left, or an operation raised) and the error lines of its log."""
    errors, changed_in_log = parse_log(log)
    changes: dict[str, list[str]] = {n: list(changed_in_log.get(n, [])) if report is None else [] for n in names}
    failed = set(names) if report is None else set((report.get("results") or {}).get("failed_hosts", []))
    if report is not None and dry:
        for op in report["plan"]:
            for name in op["hosts_with_change"] + op["hosts_with_conditional_change"]:
                changes.setdefault(name, []).append(op["name"])
    elif report is not None:
        for op in report["results"]["operations"]:
            for name in op["success"]:
                changes.setdefault(name, []).append(op["name"])
            failed.update(op["error"])
    failed.update(n for n in errors if n in changes)
    results = Results()
    for name in names:
        unknown = "pyinfra stopped the run before this host finished" if report is None else "pyinfra reported the host as failed"
        error = errors.get(name, f"{unknown} (see the run log)") if name in failed else ""
        results.add(Result(host=name, ok=name not in failed, changed=bool(changes[name]), diff="\n".join(changes[name]),
                           error=error, data={"operations": changes[name]}))
    return results


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
    json_file = run_dir / "pyinfra.json"
    with progress(f"deploy {role}", len(names), enabled=show_progress) as tick, json_file.open("w") as json_out:
        proc = subprocess.Popen(argv, stdout=json_out, stderr=subprocess.PIPE, text=True, cwd=run_dir)
        assert proc.stderr is not None
        for line in proc.stderr:  # the log streams; the JSON report goes to its file
            log_lines.append(line)
            match = HOST_LINE.match(line.strip())
            if match and match["message"].startswith("Connected"):
                tick(description=f"deploy {role}: connected to {match['host']}")
            elif line.startswith("--> Starting operation:"):
                tick(0, description=f"deploy {role}: {line.split(':', 1)[1].strip()}")
        proc.wait()
    log = "".join(log_lines)
    (run_dir / "pyinfra.log").write_text(log)
    stdout = json_file.read_text()
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        if not set(parse_log(log)[0]) & set(names):  # pyinfra itself failed: nothing per host to say
            tail = log.strip().splitlines()[-8:]
            raise HatangError(f"pyinfra did not finish the '{role}' deploy (exit {proc.returncode}); log: {run_dir / 'pyinfra.log'}", details=tail) from None
        report = None
    outcome = DeployRun(role, dry, run_dir, results_from(report, names, log, dry=dry))
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
