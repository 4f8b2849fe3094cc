"""``hatang deploy playbook FILE``: run an existing Ansible playbook through ansible-runner.

The inventory is hatang's Ansible export; the login is the ``server-admin`` credential
(host keys checked against the same known_hosts as every other hatang connection).
ansible-runner's events stream as progress; its artifacts (events, stdout, status)
stay in the run's private data directory under the state directory; the play recap
becomes one :class:`~hatang.results.Result` per host, and the run is appended to the
audit log.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

from hatang import audit
from hatang.console import progress
from hatang.deploy.login import login
from hatang.deploy.targets import select
from hatang.errors import HatangError
from hatang.inventory import export
from hatang.inventory.inventory import Inventory
from hatang.paths import state_path
from hatang.results import Result, Results

PLAYBOOKS_DIR = Path(__file__).parent / "playbooks"
#: At most this many lines of a failed assertion's message are kept.
MESSAGE_LINES = 40
TASK_EVENTS = ("runner_on_ok", "runner_on_failed", "runner_on_unreachable", "runner_on_skipped")


@dataclass
class PlaybookRun:
    playbook: Path
    check: bool
    artifacts: Path
    status: str
    results: Results = field(default_factory=Results)

    def as_dict(self) -> dict:
        return {"playbook": str(self.playbook), "check": self.check, "status": self.status,
                "artifacts": str(self.artifacts), "hosts": [r.as_dict() for r in self.results]}


def resolve(path: Path) -> Path:
    """A playbook path as given, or the name of one shipped in ``deploy/playbooks``."""
    for candidate in (path, PLAYBOOKS_DIR / path):
        if candidate.is_file():
            return candidate.resolve()
    shipped = ", ".join(sorted(p.name for p in PLAYBOOKS_DIR.glob("*.yml")))
    raise HatangError(f"no playbook {path} (shipped playbooks: {shipped})")


def _envvars(inv: Inventory) -> dict[str, str]:
    who = login(inv.env)
    ssh_args = "-o StrictHostKeyChecking=yes -o ControlMaster=auto -o ControlPersist=60s"
    if who.known_hosts is not None:
        ssh_args += f" -o UserKnownHostsFile={who.known_hosts}"
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_REMOTE_USER": who.user,
        "ANSIBLE_PRIVATE_KEY_FILE": who.key_file,
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_ARGS": ssh_args,
        "ANSIBLE_TIMEOUT": "10",
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
        "ANSIBLE_NOCOLOR": "1",
    }


def _per_host(stats: dict, names: list[str], last_error: dict[str, str]) -> Results:
    results = Results()
    for name in names:
        unreachable = name in (stats.get("dark") or {})
        failed = name in (stats.get("failures") or {})
        ran = any(name in (stats.get(k) or {}) for k in ("ok", "changed", "failures", "dark", "skipped"))
        error = last_error.get(name, "")
        if unreachable:
            error = f"unreachable: {error}" if error else "unreachable"
        elif not ran:
            error = "the playbook did not run on this host (not in its play's hosts?)"
        results.add(Result(host=name, ok=ran and not (failed or unreachable), changed=bool((stats.get("changed") or {}).get(name)),
                           error=error if (failed or unreachable or not ran) else "", data={"tasks_ok": (stats.get("ok") or {}).get(name, 0)}))
    return results


def _event_message(event: dict) -> str:
    """A failed task's message: every line of an assertion's (the baseline audit's lists
    one failing control per line), the first line of anything else."""
    res = event.get("event_data", {}).get("res") or {}
    if res.get("assertion") is not None and res.get("msg"):
        return "\n".join(str(res["msg"]).strip().splitlines()[:MESSAGE_LINES])
    text = str(res.get("msg") or res.get("stderr") or res.get("reason") or "").strip()
    return text.splitlines()[0] if text else ""


def _host_vars(inv: Inventory, names: list[str], directory: Path) -> None:
    """Each server's expected baseline values (:mod:`hatang.deploy.baseline.expected`)
    and, on a cloud guest, its PVE backup's freshness (BAK-01,
    :mod:`hatang.deploy.baseline.guest_backup`), as the host variable the baseline
    playbook reads, next to the inventory."""
    from hatang.deploy.baseline.expected import environment
    from hatang.deploy.baseline.guest_backup import freshness
    from hatang.deploy.baseline.playbook import HOST_VAR
    from hatang.deploy.intent import for_host

    directory.mkdir(parents=True, exist_ok=True)
    backups = freshness(inv, [h for h in inv.linux_hosts() if h.name in names])
    for name in names:
        variables = {HOST_VAR: {**environment(for_host(name, str(inv.directory), inv.env)), **backups.get(name, {})}}
        (directory / f"{name}.yml").write_text(yaml.safe_dump(variables, sort_keys=False, allow_unicode=True))


def run(inv: Inventory, playbook: Path, *, limit: list[str] | None = None, check: bool = False, show_progress: bool = True) -> PlaybookRun:
    import ansible_runner

    book = resolve(playbook)
    names = [h.name for h in select(inv, limit)]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    data_dir = state_path("deploy", "ansible", f"{stamp}-{book.stem}")
    inventory_file = data_dir / "inventory" / "hosts.yml"
    inventory_file.parent.mkdir(parents=True)
    inventory_file.write_text(export.export(inv, "ansible")["inventory.yml"])
    _host_vars(inv, names, inventory_file.parent / "host_vars")
    last_error: dict[str, str] = {}
    with progress(f"playbook {book.name}", len(names), enabled=show_progress) as tick:

        def on_event(event: dict) -> bool:
            data = event.get("event_data", {})
            if event.get("event") in TASK_EVENTS:
                tick(0, description=f"{book.name}: {data.get('host')}: {data.get('task')}")
                if event["event"] in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
                    last_error[data.get("host", "")] = f"{data.get('task')}: {_event_message(event)}"
            elif event.get("event") == "playbook_on_stats":
                tick(len(names))
            return True

        runner = ansible_runner.run(
            private_data_dir=str(data_dir), playbook=str(book), inventory=str(inventory_file), limit=",".join(names),
            cmdline="--check" if check else None, envvars=_envvars(inv), event_handler=on_event, quiet=True,
        )
    stats = runner.stats or {}
    if not stats:
        tail = (data_dir / "artifacts").glob("*/stdout")
        lines = [line for f in tail for line in f.read_text().strip().splitlines()[-6:]]
        raise HatangError(f"ansible-playbook did not run {book.name} ({runner.status}, rc {runner.rc})", details=lines)
    outcome = PlaybookRun(book, check, Path(runner.config.artifact_dir), runner.status, _per_host(stats, names, last_error))
    audit.append("deploy", {
        "playbook": str(book), "check": check, "environment": inv.env, "artifacts": str(outcome.artifacts),
        "hosts": {r.host: {"ok": r.ok, "changed": r.changed, "error": r.error} for r in outcome.results},
    })
    return outcome
