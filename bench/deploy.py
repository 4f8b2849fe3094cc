"""Benchmark: server deployments on lab hosts, hatang against its peers in one run.

- ``hatang deploy all`` (first run), then ``hatang deploy base`` converged, against pyinfra's own CLI running
  the same deploy file with the same inventory and data on the converged hosts: the
  difference is what hatang adds (host selection, JSON reading, audit record).
- ``hatang deploy audit`` (one SSH session per host, paramiko) against the same
  controls as an Ansible playbook through ansible-runner (``baseline-audit.yml``).
- The lab hosts themselves: rootfs (cached or built), ``up`` and ``down`` of the hosts.

Run as root: ``.venv/bin/python -m bench.deploy``. Holds the machine's lab lock, brings
up only the ``hosts`` component, and leaves no lab behind.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.report import table, write_section

LAB_LOCK = Path("/run/hatang-lab.lock")
HOSTS = ("portal-web-01", "db-pg-01", "backup")


def timed(fn) -> tuple[float, object]:
    started = time.monotonic()
    value = fn()
    return time.monotonic() - started, value


def hatang(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatang.cli", *args], capture_output=True, text=True)


def main() -> None:
    os.environ["HATANG_LAB_HOSTS"] = ",".join(HOSTS)
    from hatang.deploy import runner
    from hatang.deploy.baseline.controls import CONTROLS
    from hatang.deploy.login import login
    from hatang.inventory import export, load
    from hatang.lab import host_rootfs, hosts
    from hatang.lab.context import LabContext

    with open(LAB_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        hatang("lab", "down")
        cached = (host_rootfs.rootfs_dir() / ".complete").exists()
        rootfs_s, _ = timed(lambda: host_rootfs.build(log=lambda _line: None))
        ctx = LabContext.load("small")
        try:
            up_s, _ = timed(lambda: hosts.up(ctx))
            limit = [a for h in HOSTS for a in ("--limit", h)]
            first_s, first = timed(lambda: hatang("deploy", "all", *limit, "--json"))
            second_s, second = timed(lambda: hatang("deploy", "base", *limit, "--json"))
            inv = load(None, "lab")
            inventory = Path(ctx.path("bench")) / "inventory.py"
            inventory.write_text(export.export(inv, "pyinfra")["inventory.py"])
            data = [*login("lab").pyinfra_data(), f"hatang_inventory={inv.directory}", "hatang_env=lab"]
            pyinfra = [str(Path(sys.executable).with_name("pyinfra")), "-y", *limit, *(a for d in data for a in ("--data", d)),
                       str(inventory), str(runner.role_file("base"))]
            peer_s, peer = timed(lambda: subprocess.run(pyinfra, capture_output=True, text=True))
            audit_s, audit = timed(lambda: hatang("deploy", "audit", *limit, "--json"))
            ansible_s, ansible = timed(lambda: hatang("deploy", "playbook", "baseline-audit.yml", *limit, "--check", "--json"))
            down_s, _ = timed(lambda: hosts.down(ctx))
        finally:
            hosts.down(ctx)
            hatang("lab", "down")
    codes = {"all first": first.returncode, "base again": second.returncode, "pyinfra": peer.returncode,
             "audit": audit.returncode, "playbook": ansible.returncode}
    rows = [
        ["rootfs (debootstrap + local repository)", "cached" if cached else f"built in {rootfs_s:.1f} s", ""],
        [f"lab hosts up ({len(HOSTS)} hosts)", f"{up_s:.2f} s", ""],
        [f"hatang deploy all, first run ({len(HOSTS)} hosts: backup-server, base, postgresql, web-portal; real apt installs)", f"{first_s:.1f} s", ""],
        ["hatang deploy base, converged (no change)", f"{second_s:.1f} s", f"pyinfra CLI, same deploy: {peer_s:.1f} s"],
        [f"hatang deploy audit ({len(CONTROLS)} controls)", f"{audit_s:.1f} s", f"ansible-runner baseline-audit.yml: {ansible_s:.1f} s"],
        ["lab hosts down", f"{down_s:.2f} s", ""],
    ]
    body = table(["what", "hatang", "peer (same run)"], rows) + f"\n\nExit codes: {codes}.\n"
    write_section("deploy", "Server deployments (issue 8)", "sudo .venv/bin/python -m bench.deploy", body)


if __name__ == "__main__":
    main()
