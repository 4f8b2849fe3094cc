"""``hatang demo``: the whole flow on the lab, as each user would run it, step by step.

Every step is a real ``hatang`` command run as a subprocess, printed before it runs, so
the demo doubles as a tour of what infrastructure engineers, network staff, on-call
staff and planners type. A failing step stops the demo with its exit status.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hatang.console import err, out
from hatang.errors import HatangError
from hatang.lab.monitoring import PROMETHEUS_URL as PROMETHEUS
from hatang.lab.monitoring import RECEIVER_URL
from hatang.paths import room_dir, state_path

FAULT_LINK = ("dr-vinh-yen", "cpe-tich-son")
#: The illustrative monthly history shipped with the capacity planner (the lab has no past).
CAPACITY_HISTORY = room_dir("cloud") / "capacity" / "examples" / "history.csv"


@dataclass(frozen=True)
class Step:
    who: str
    what: str
    argv: tuple[str, ...]
    #: exit statuses that mean the step did its job (a diagnosis that finds a fault exits 1)
    ok_codes: tuple[int, ...] = (0,)


def hatang_argv(*args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "hatang.cli", *args)


def run_step(step: Step, index: int, total: int) -> tuple[float, float]:
    """Run one step; the wall-clock times (epoch seconds) it started and ended."""
    shown = " ".join(["hatang", *step.argv[3:]])
    err.rule(f"[bold]{index}/{total}[/] {step.what}  [dim]({step.who})[/]")
    err.print(f"[cyan]$ {shown}[/]")
    started = time.time()
    result = subprocess.run(step.argv, env={**os.environ, "COLUMNS": os.environ.get("COLUMNS", "160")})
    if result.returncode not in step.ok_codes:
        raise HatangError(f"demo step {index} failed ({shown}): exit status {result.returncode}", exit_code=result.returncode)
    ended = time.time()
    err.print(f"[green]done[/] in {ended - started:.1f} s")
    return started, ended


def alert_state(name: str, device: str) -> str | None:
    """'firing', 'pending' or None for an alert on ``device`` in the lab's Prometheus."""
    try:
        with urllib.request.urlopen(f"{PROMETHEUS}/api/v1/alerts", timeout=5) as response:
            alerts = json.load(response)["data"]["alerts"]
    except OSError:
        return None
    states = {a["state"] for a in alerts if a["labels"].get("alertname") == name and device in a["labels"].values()}
    return "firing" if "firing" in states else ("pending" if states else None)


def poll(what: str, check: Callable[[], Any], timeout_s: float, failure: str) -> Any:
    """``check()``'s first true value, polled every 2 s under a status line, with the time it
    took printed; :class:`HatangError` with ``failure`` after ``timeout_s``."""
    started = time.monotonic()
    with err.status(f"waiting for {what}"):
        while time.monotonic() - started < timeout_s:
            value = check()
            if value:
                err.print(f"{what}: [bold]done[/] after {time.monotonic() - started:.0f} s")
                return value
            time.sleep(2)
    raise HatangError(f"{failure} within {timeout_s:.0f} s")


def wait_for_alert(name: str, device: str, *, firing: bool, timeout_s: float = 180) -> None:
    word = "firing" if firing else "resolved"
    poll(f"{name} on {device} to be {word} in Prometheus", lambda: (alert_state(name, device) == "firing") == firing,
         timeout_s, f"{name} on {device} was not {word} (Prometheus at {PROMETHEUS})")


def wait_for_notification(status: str, since: float, device: str, timeout_s: float = 180) -> None:
    """Until the lab's receiver holds the page for ``device`` (``firing``) or that page's
    resolution (``resolved``)."""
    from hatang.monitoring.receiver import received

    def arrived() -> bool:
        return any(r.get("kind") == "webhook" and r.get("status") == status and str(r.get("receiver", "")).startswith("page-")
                   and r.get("received_at", 0) >= since and any(a["labels"].get("device") == device for a in r.get("alerts", []))
                   for r in received(RECEIVER_URL))

    word = "page" if status == "firing" else "page's resolution"
    poll(f"Alertmanager's {word} at the receiver", arrived, timeout_s, f"no {status} page for {device} reached the receiver at {RECEIVER_URL}")


def wait_for_outage(device: str, since: datetime, timeout_s: float = 240) -> Any:
    """Until the availability report holds ``device``'s outage with its cause settled (the
    SNMP evidence after it is in); that outage."""
    from hatang.inventory import load
    from hatang.monitoring.sla import build_report

    inv = load(None, "lab")

    def settled() -> Any:
        outages = build_report(inv, PROMETHEUS, since, datetime.now(timezone.utc)).outages
        return next((o for o in outages if o.device == device and o.settled), None)

    return poll(f"the outage of {device} in the availability report, its cause settled", settled, timeout_s,
                f"no settled outage of {device} in the availability report (Prometheus at {PROMETHEUS})")


def run(size: str = "province") -> None:
    reports = state_path("reports")
    a, b = FAULT_LINK
    second_push = Step("network staff", "a second push changes nothing", hatang_argv("net", "push", "--all", "--yes"))
    before = [
        Step("infrastructure engineer", "validate the province's inventory", hatang_argv("inventory", "validate", "--env", "lab")),
        Step("network staff", f"bring up the lab ({size}): routers, hosts, Proxmox simulator, exporter, Prometheus", hatang_argv("lab", "up", "--size", size)),
        Step("infrastructure engineer", "plan the private cloud", hatang_argv("cloud", "plan")),
        Step("infrastructure engineer", "apply the private cloud", hatang_argv("cloud", "apply", "--yes")),
        Step("infrastructure engineer", "a second plan is empty", hatang_argv("cloud", "plan")),
        # The guests just made have no backup until their job's first scheduled run (the
        # simulator runs no scheduler): run hatang's jobs now, as PVE's "Run now" does.
        Step("infrastructure engineer", "run every backup job now (PVE's 'Run now'): each guest's backup is fresh",
             hatang_argv("cloud", "backups", "--run-now")),
        Step("network staff", "push every router from day-0, in waves", hatang_argv("net", "push", "--all", "--yes")),
        second_push,
        Step("infrastructure engineer", "deploy every lab server's roles: backup server, baseline, Proxmox node, PostgreSQL, web portal", hatang_argv("deploy", "all")),
        Step("infrastructure engineer", "audit the security baseline (BAK-01 reads the fresh backups)", hatang_argv("deploy", "audit")),
        Step("infrastructure engineer", "prove a backup restores: the mail server's newest, on an isolated VM, checked, destroyed",
             hatang_argv("cloud", "restore-test", "mail")),
        Step("on-call", "one poll of the district's routers", hatang_argv("monitor", "poll", "--site", "vinh-yen")),
        Step("network staff", f"fault: the fibre between {a} and {b} is cut", hatang_argv("lab", "fault", "link-down", a, b)),
    ]
    cut_at = datetime.now(timezone.utc)  # replaced by the fault step's own time below
    after_fault = [
        Step("on-call", "the page Alertmanager sent (one, for the cut)", hatang_argv("monitor", "pages", "--since", cut_at.isoformat())),
        Step("on-call", "run the runbook's diagnostics", hatang_argv("runbook", "run", "HatangWanLinkDown", "--target", b), ok_codes=(0, 1)),
        Step("network staff", "the fibre is repaired", hatang_argv("lab", "fault", "link-up", a, b)),
    ]
    total = len(before) + len(after_fault) + 3
    index = 0
    for step in before[:-1]:
        index += 1
        run_step(step, index, total)
        if step is second_push:
            in_service = datetime.now(timezone.utc).replace(microsecond=0)  # every router configured and checked
    cut_at = datetime.now(timezone.utc)
    after_fault[0] = Step(after_fault[0].who, after_fault[0].what, hatang_argv("monitor", "pages", "--since", cut_at.isoformat()))
    index += 1
    cutting = run_step(before[-1], index, total)
    wait_for_alert("HatangWanLinkDown", b, firing=True)
    wait_for_notification("firing", cut_at.timestamp(), b)
    for step in after_fault:
        index += 1
        repairing = run_step(step, index, total)  # the repair is the last of these steps
    wait_for_alert("HatangWanLinkDown", b, firing=False)
    wait_for_notification("resolved", cut_at.timestamp(), b)
    index += 1
    run_step(Step("on-call", "the page resolved", hatang_argv("monitor", "pages", "--all", "--since", cut_at.isoformat())), index, total)
    ended = datetime.now(timezone.utc).replace(microsecond=0)
    index += 1
    run_step(
        Step("planner", "size the hardware refresh", hatang_argv("capacity", "report", "--live", "--history", str(CAPACITY_HISTORY), "-o", str(reports / "capacity"))),
        index, total,
    )
    outage = wait_for_outage(b, cut_at)
    index += 1
    run_step(
        Step("IIC management", "availability report since the province's network is in service: the cut, its duration and cause",
             hatang_argv("sla", "report", "--from", in_service.isoformat(), "--to", ended.isoformat(), "-o", str(reports / "sla"))),
        index, total,
    )
    # the cut began during the fault's step and ended during the repair's
    shortest, longest = repairing[0] - cutting[1], repairing[1] - cutting[0]
    out.print(f"The cut of {a}–{b} lasted between {shortest:.1f} and {longest:.1f} s (the fault and repair commands' own times); "
              f"the report: {outage.duration_s:.1f} s, cause {outage.cause} ({outage.detail}).")
    out.print()
    out.print("[bold]Where to look next[/]")
    out.print(f"  availability report (HTML, CSV): {reports / 'sla'}")
    out.print(f"  capacity report (HTML, Markdown, CSV): {reports / 'capacity'}")
    out.print(f"  Prometheus: {PROMETHEUS}  (alerts: {PROMETHEUS}/alerts)")
    out.print(f"  pages sent: 'hatang monitor pages --all' (the lab's receiver at {RECEIVER_URL})")
    out.print(f"  Grafana dashboards to import: {room_dir('monitoring') / 'dashboards'}")
    out.print("  the lab stays up for you to explore: 'hatang lab status'; 'make demo-down' removes it")
