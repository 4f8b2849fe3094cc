"""Time from alert to diagnosis: ``hatang runbook run`` against the same checks typed by
hand with the standard tools (ping, a TCP probe, net-snmp's snmpwalk, ssh into vtysh and
the core's shell), sequentially, as an on-call engineer would.

Runs on the small lab (root; holds the lab lock for its whole run), configured with the
network room's push, in two states: healthy, and the commune router powered off
(``hatang lab fault kill``), where timeouts dominate.

    .venv/bin/python -m bench.runbooks
"""

from __future__ import annotations

import fcntl
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.report import table, write_section

LOCK = Path("/run/hatang-lab.lock")
HATANG = [sys.executable, "-m", "hatang.cli"]
TARGET, SITE = "cpe-lien-bao", "lien-bao"
RUNS = 3


def sh(argv: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def timed(argv: list[str]) -> tuple[float, float, int]:
    """Median wall seconds over RUNS runs, peak RSS (MiB) of the child, last exit status."""
    times, code = [], 0
    for _ in range(RUNS):
        started = time.monotonic()
        code = sh(argv).returncode
        times.append(time.monotonic() - started)
    return statistics.median(times), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, code


def manual_script(inv) -> str:
    """The checks of the HatangDeviceDown runbook, typed by hand with standard tools."""
    from hatang.credentials import secret

    def cred(ref: str, field: str) -> str:
        return shlex.quote(secret(ref, field, env="lab"))

    up = inv.uplink(TARGET).peer
    core = next(d.name for d in inv.routers() if d.role.value == "core")
    mgmt = {name: str(inv.mgmt(name).ip) for name in (TARGET, up, core)}
    snmp = f"snmpwalk -v3 -l authPriv -u {cred('snmp-v3', 'username')} -a SHA -A {cred('snmp-v3', 'auth_key')} -x AES -X {cred('snmp-v3', 'priv_key')} -t 2 -r 1 -On"
    ssh = "sshpass -p {pw} ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=3 -o LogLevel=ERROR {user}@{host}"
    readonly = ssh.format(pw=cred("net-readonly", "password"), user=cred("net-readonly", "username"), host=mgmt[up])
    admin = ssh.format(pw=cred("lab-admin", "password"), user=cred("lab-admin", "username"), host=mgmt[core])
    return "\n".join(
        [
            f"ping -n -q -c 3 -i 0.2 -W 1 {mgmt[TARGET]}",
            f"timeout 3 bash -c '</dev/tcp/{mgmt[TARGET]}/22'",
            f"{snmp} {mgmt[TARGET]} 1.3.6.1.2.1.2.2.1.8",
            f"ping -n -q -c 3 -i 0.2 -W 1 {mgmt[up]}",
            f"{snmp} {mgmt[up]} 1.3.6.1.2.1.2.2.1.8",
            f"{readonly} 'show ip ospf neighbor'",
            f"{admin} 'ping -n -c 3 -i 0.2 -W 1 -I {inv.loopback(core)} {inv.loopback(TARGET)}'",
            "true",
        ]
    )


def measure(inv) -> list[list[object]]:
    script = manual_script(inv)
    rows = []
    for state in ("healthy", "commune router powered off"):
        if state != "healthy":
            sh([*HATANG, "lab", "fault", "kill", TARGET])
        hatang_s, rss, code = timed([*HATANG, "runbook", "run", "HatangDeviceDown", "--target", SITE, "--json"])
        manual_s, _, _ = timed(["bash", "-c", script.replace("\n", "; ")])
        rows.append([state, f"{hatang_s:.1f} s (exit {code})", f"{manual_s:.1f} s", f"{manual_s / hatang_s:.1f}×", f"{rss:.0f} MiB"])
    sh([*HATANG, "lab", "fault", "restore", TARGET])
    return rows


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("bench.runbooks needs root (it brings the lab up)")
    from hatang.inventory import load
    from hatang.runbooks.catalog import find

    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            up = sh([*HATANG, "lab", "up", "--size", "small", "--configured"])
            if up.returncode != 0:
                sys.exit(f"lab up failed:\n{up.stderr}")
            rows = measure(load(None, "lab"))
        finally:
            sh([*HATANG, "lab", "down"])
    body = (
        f"`hatang runbook run HatangDeviceDown --target {SITE}` ({len(find('HatangDeviceDown').meta.diagnostics)} declared read-only checks, concurrent) against the same "
        "checks typed by hand with ping, a bash TCP probe, net-snmp's snmpwalk and sshpass+ssh into vtysh and the "
        f"core's shell, one after the other. Median of {RUNS} runs each; the runbook also names the next step.\n\n"
        + table(["lab state", "hatang runbook run", "by hand (standard tools)", "speed-up", "hatang peak RSS"], rows)
    )
    write_section("runbooks", "Runbook diagnostics: time from alert to diagnosis", "python -m bench.runbooks", body)


if __name__ == "__main__":
    main()
