"""``hatang deploy audit``: check the baseline's controls on each server, over SSH.

One SSH session per host runs every applicable check (read-only shell from
:mod:`.controls`, with the host's expected values from the inventory) and reads one
status line per control; nothing is written on the host. A failing control names what
was found and what was expected. A host that cannot be reached fails on its own, the
others are still audited. The deploy runs the same audit after its run (``verify``), for
the controls its role carries and repairs: without the guests' PVE backup freshness,
which the full audit reads once per cluster (BAK-01, :mod:`.guest_backup`).
"""

from __future__ import annotations

from dataclasses import dataclass

from hatang.deploy.baseline.controls import CONTROLS, Control
from hatang.deploy.baseline.expected import environment
from hatang.deploy.baseline.guest_backup import freshness
from hatang.deploy.baseline.script import MARK, MESSAGE_MAX, audit_script
from hatang.deploy.intent import for_host
from hatang.deploy.login import Login
from hatang.errors import HatangError
from hatang.inventory.inventory import Inventory, LinuxHost
from hatang.results import Result, Results, run_per_host

CHECK_TIMEOUT_S = 60
#: At most this much of the script's output is read: the parser's bound.
OUTPUT_MAX = 64 * 1024


@dataclass(frozen=True)
class Outcome:
    control: Control
    passed: bool
    message: str = ""  # "found …; expected …" when it fails

    def as_dict(self) -> dict:
        c = self.control
        return {"id": c.id, "area": c.area, "title": c.title, "reference": c.reference, "passed": self.passed, "message": self.message}


def applicable(host: LinuxHost, role: str | None = None) -> list[Control]:
    """The controls of ``host`` (those a deploy of ``role`` carries, if given)."""
    return [c for c in CONTROLS if c.applies_to(host.roles, host.kind) and (role is None or role in c.roles)]


def parse(output: str, controls: list[Control]) -> list[Outcome]:
    status: dict[str, tuple[bool, str]] = {}
    for line in output.splitlines():
        parts = line.split(" ", 3)
        if len(parts) >= 3 and parts[0] == MARK:
            status[parts[1]] = (parts[2] == "0", parts[3].strip()[:MESSAGE_MAX] if len(parts) == 4 else "")
    missing = [c.id for c in controls if c.id not in status]
    if missing:
        raise HatangError(f"the checks of {', '.join(missing)} printed no result")
    return [Outcome(c, *status[c.id]) for c in controls]


def failure_text(host: str, outcomes: list[Outcome]) -> str:
    """``host: ID: found …; expected …`` for each failing control, one per line."""
    return "\n".join(f"{host}: {o.control.id}: {o.message or 'failed'}" for o in outcomes if not o.passed)


def audit_host(inv: Inventory, host: LinuxHost, who: Login, role: str | None = None, extra: dict[str, str] | None = None) -> Result:
    controls = applicable(host, role)
    env = {**environment(for_host(host.name, str(inv.directory), inv.env)), **(extra or {})}
    client = who.connect(str(host.address.ip))
    try:
        stdin, stdout, _ = client.exec_command("/bin/sh -s", timeout=CHECK_TIMEOUT_S)
        stdin.write(audit_script(controls, env))
        stdin.channel.shutdown_write()
        outcomes = parse(stdout.read(OUTPUT_MAX).decode(errors="replace"), controls)
    finally:
        client.close()
    return Result(host=host.name, ok=all(o.passed for o in outcomes), error=failure_text(host.name, outcomes),
                  data={"controls": [o.as_dict() for o in outcomes]})


def audit(inv: Inventory, hosts: list[LinuxHost], who: Login, *, role: str | None = None, show_progress: bool = True) -> Results:
    backups = freshness(inv, hosts) if role is None else {}
    return run_per_host(hosts, lambda h: audit_host(inv, h, who, role, backups.get(h.name)), name_of=lambda h: h.name,
                        label="audit", show_progress=show_progress)
