"""``hatang deploy``: server deployments (pyinfra), the security baseline audit, playbooks.

One command per role (``hatang deploy base``, ``hatang deploy web-portal``…), from the
deploy files in ``deploy/roles``. Heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hatang.console import out, plain, print_json, print_table, status_mark
from hatang.errors import HatangError
from hatang.options import DEFAULT_ENV, EnvOpt, InventoryOpt, JsonOpt

app = typer.Typer(help="Server deployments with pyinfra, Ansible playbooks, and the security baseline audit.", no_args_is_help=True)

LimitOpt = Annotated[list[str] | None, typer.Option("--limit", "-l", help="Host name, group name or glob; repeat for more.")]
DryOpt = Annotated[bool, typer.Option("--dry", help="Show what would change; change nothing.")]

ROLE_HELP = {
    "base": "Debian baseline and level-3 security controls: time, admins, SSH, logging, sysctl, updates, snmpd.",
    "proxmox-node": "Hypervisor baseline: bridge and VLANs, repositories, corosync-ready name resolution.",
    "web-portal": "A web portal behind nginx (TLS-ready virtual host, hardened headers).",
    "postgresql": "PostgreSQL for the applications, with its nightly dump.",
    "backup-server": "The IIC backup server: the repository the servers send their backups to.",
}


def _inventory(inventory: Path | None, env: str):
    from hatang.inventory import load

    return load(inventory, env)


def _fail_if(results, what: str) -> None:
    """Exit non-zero naming the hosts with a failed result (a host may have several)."""
    results = list(results)
    failed = sorted({r.host for r in results if not r.ok})
    if failed:
        total = len({r.host for r in results})
        raise HatangError(f"{what} failed on {len(failed)} of {total} hosts: {', '.join(failed)}", exit_code=1)


def _show(title: str, results, *, dry: bool = False) -> None:
    rows = [(r.host, status_mark(r.ok), ("would change" if dry else "changed") if r.changed else "no change",
             len(r.data.get("operations", [])) or "", r.error) for r in sorted(results, key=lambda r: r.host)]
    print_table(title, ["host", "ok", "result", "operations", "error"], rows)
    if dry:  # the plan itself: what each host would get
        for r in sorted(results, key=lambda r: r.host):
            for operation in r.data.get("operations", []):
                out.print(plain(f"  {r.host}: {operation}"))


def _role_command(role: str):
    def command(limit: LimitOpt = None, dry: DryOpt = False, inventory: InventoryOpt = None,
                env: EnvOpt = DEFAULT_ENV, json: JsonOpt = False) -> None:
        from hatang.deploy import runner

        run = runner.run(_inventory(inventory, env), role, limit=limit, dry=dry, show_progress=not json)
        if json:
            print_json(run.as_dict())
        else:
            _show(f"deploy {role}{' (dry run)' if dry else ''}", run.results, dry=dry)
            out.print(f"run files: {run.run_dir}")
        _fail_if(run.results, f"deploy {role}")

    command.__doc__ = ROLE_HELP.get(role, f"Run the {role} role.")
    return command


def _register_roles() -> None:
    from hatang.deploy.runner import roles

    for role in roles():
        app.command(name=role)(_role_command(role))


@app.command(name="all")
def deploy_all(limit: LimitOpt = None, dry: DryOpt = False, inventory: InventoryOpt = None,
               env: EnvOpt = DEFAULT_ENV, json: JsonOpt = False) -> None:
    """Every server's roles, in order (backup server, base, then the services)."""
    from hatang.deploy import runner

    runs = runner.run_all(_inventory(inventory, env), limit=limit, dry=dry, show_progress=not json)
    if json:
        print_json({"dry": dry, "runs": [r.as_dict() for r in runs]})
    else:
        for run in runs:
            _show(f"deploy {run.role}{' (dry run)' if dry else ''}", run.results, dry=dry)
    _fail_if((r for run in runs for r in run.results), "deploy all")


@app.command()
def audit(limit: LimitOpt = None, inventory: InventoryOpt = None, env: EnvOpt = DEFAULT_ENV, json: JsonOpt = False) -> None:
    """Check the security baseline's controls on each server over SSH; changes nothing."""
    from hatang.deploy.baseline.audit import audit as run_audit
    from hatang.deploy.login import login
    from hatang.deploy.targets import select

    inv = _inventory(inventory, env)
    results = run_audit(inv, select(inv, limit), login(inv.env), show_progress=not json)
    if json:
        print_json({"hosts": [r.as_dict() for r in sorted(results, key=lambda r: r.host)]})
    else:
        for r in sorted(results, key=lambda r: r.host):
            if not r.data.get("controls"):
                out.print(f"[bold]{plain(r.host)}[/]: [bold red]not audited[/]: {plain(r.error)}")
                continue
            rows = [(c["id"], status_mark(c["passed"]), c["title"], c["message"], c["reference"]) for c in r.data["controls"]]
            print_table(f"{r.host}: security baseline", ["control", "result", "what", "found; expected", "reference"], rows)
    _fail_if(results, "the baseline audit")


@app.command()
def check(limit: LimitOpt = None, inventory: InventoryOpt = None, env: EnvOpt = DEFAULT_ENV, json: JsonOpt = False) -> None:
    """Run each server's role health checks over SSH (the ones restore-test runs in a
    restored copy); changes nothing."""
    from hatang.deploy.health import check_hosts
    from hatang.deploy.login import login
    from hatang.deploy.targets import select

    inv = _inventory(inventory, env)
    results = check_hosts(select(inv, limit), login(inv.env), show_progress=not json)
    if json:
        print_json({"hosts": [r.as_dict() for r in sorted(results, key=lambda r: r.host)]})
    else:
        rows = [(r.host, c["role"], c["check"], status_mark(c["passed"]), c["note"] or c["out"].strip()[-200:])
                for r in sorted(results, key=lambda r: r.host) for c in r.data.get("health", [])]
        rows += [(r.host, "", "", status_mark(False), r.error) for r in results if not r.data.get("health")]
        print_table("role health checks", ["host", "role", "check", "result", "said"], rows)
    _fail_if(results, "the role health check")


@app.command()
def playbook(
    file: Annotated[Path, typer.Argument(help="A playbook file, or the name of one in deploy/playbooks.")],
    limit: LimitOpt = None,
    check: Annotated[bool, typer.Option("--check", help="Ansible's check mode: report, change nothing.")] = False,
    inventory: InventoryOpt = None,
    env: EnvOpt = DEFAULT_ENV,
    json: JsonOpt = False,
) -> None:
    """Run an Ansible playbook with hatang's inventory through ansible-runner."""
    from hatang.deploy import playbook_runner

    run = playbook_runner.run(_inventory(inventory, env), file, limit=limit, check=check, show_progress=not json)
    if json:
        print_json(run.as_dict())
    else:
        rows = [(r.host, status_mark(r.ok), "changed" if r.changed else "no change", r.error) for r in sorted(run.results, key=lambda r: r.host)]
        print_table(f"playbook {run.playbook.name}{' (check mode)' if check else ''}: {run.status}", ["host", "ok", "result", "error"], rows)
        out.print(f"artifacts: {run.artifacts}")
    _fail_if(run.results, f"playbook {run.playbook.name}")


@app.command()
def history(limit: Annotated[int, typer.Option("--last", help="How many runs to show.")] = 20, json: JsonOpt = False) -> None:
    """The last deploy and playbook runs, from the append-only audit log."""
    from hatang import audit as audit_log

    records = list(audit_log.read("deploy"))[-limit:]
    if json:
        print_json(records)
        return
    rows = []
    for rec in records:
        hosts = rec.get("hosts", {})
        what = rec.get("role") or Path(rec.get("playbook", "?")).name
        mode = "dry" if rec.get("dry") else "check" if rec.get("check") else ""
        rows.append((rec["when"], rec["who"], what, mode, sum(1 for h in hosts.values() if h.get("changed")),
                     sum(1 for h in hosts.values() if not h.get("ok")), len(hosts)))
    print_table("deploy history", ["when", "who", "role/playbook", "mode", "changed", "failed", "hosts"], rows)


_register_roles()
