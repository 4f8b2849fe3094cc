"""``hatang deploy audit``: check the baseline's controls on each server, over SSH.

One SSH session per host runs every applicable check (read-only shell snippets from
:mod:`.controls`) and prints one status line per control; nothing is written on the
host. A host that cannot be reached fails on its own, the others are still audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from hatang.deploy.baseline.controls import CONTROLS, Control
from hatang.deploy.login import Login
from hatang.errors import HatangError
from hatang.inventory.inventory import LinuxHost
from hatang.results import Result, Results, run_per_host

MARK = "HATANG-CHECK"
CHECK_TIMEOUT_S = 60


@dataclass(frozen=True)
class Outcome:
    control: Control
    passed: bool

    def as_dict(self) -> dict:
        c = self.control
        return {"id": c.id, "area": c.area, "title": c.title, "reference": c.reference, "passed": self.passed}


def applicable(host: LinuxHost) -> list[Control]:
    return [c for c in CONTROLS if c.applies_to(host.roles)]


def script(controls: list[Control]) -> str:
    """One shell script running each check in a subshell, printing ``MARK id status``."""
    return "".join(f"( {c.check} ) >/dev/null 2>&1; echo \"{MARK} {c.id} $?\"\n" for c in controls)


def parse(output: str, controls: list[Control]) -> list[Outcome]:
    status = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == MARK:
            status[parts[1]] = parts[2] == "0"
    missing = [c.id for c in controls if c.id not in status]
    if missing:
        raise HatangError(f"the checks of {', '.join(missing)} printed no result")
    return [Outcome(c, status[c.id]) for c in controls]


def audit_host(host: LinuxHost, who: Login) -> Result:
    controls = applicable(host)
    client = who.connect(str(host.address.ip))
    try:
        stdin, stdout, _ = client.exec_command("/bin/sh -s", timeout=CHECK_TIMEOUT_S)
        stdin.write(script(controls))
        stdin.channel.shutdown_write()
        outcomes = parse(stdout.read().decode(errors="replace"), controls)
    finally:
        client.close()
    failing = [o.control.id for o in outcomes if not o.passed]
    return Result(host=host.name, ok=not failing, error=f"failing controls: {', '.join(failing)}" if failing else "",
                  data={"controls": [o.as_dict() for o in outcomes]})


def audit(hosts: list[LinuxHost], who: Login, *, show_progress: bool = True) -> Results:
    return run_per_host(hosts, lambda h: audit_host(h, who), name_of=lambda h: h.name, label="audit", show_progress=show_progress)
