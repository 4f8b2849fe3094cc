"""Benchmark: ``hatang lab up --size province`` and ``lab down``, time and memory.

Memory is the sum of the proportional set size (PSS, /proc/PID/smaps_rollup) of every
process of the lab: what its daemons' registry records and their descendants (SSH
sessions, a host's services). PSS splits shared pages (libc, FRR's libraries) among
the processes sharing them, so the sum is what the lab really costs the machine.
Peak is sampled every half second during ``up`` and after it. The goal (issue 3): up in
60 s or less, under 4 GiB; for the merged province (issue 22, ``--size merged``, about
550 routers, its own section): 60 s or less, under 8 GiB. No peer is named for this one:
figures are against the goal.

``up`` brings the routers up at day-0 (the provider's bootstrap): their management is in
band, so a router answers ping and SSH only once the routers on its way are configured.
The bench therefore counts, after ``up``, the routers with every daemon running, and
measures reachability after ``lab up --configured`` (the day-1 push, timed apart).

Run as root: ``.venv/bin/python -m bench.lab [--size province|merged]``. Holds the
machine's lab lock for the whole run and leaves no lab behind.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

from bench.report import table, write_section
from hatang.lab.context import lab_state_dir
from hatang.lab.processes import Process, Registry, is_alive
from hatang.lab.routerd import DAEMONS, PROCESS_PREFIX
from hatang.lab.routers import Phases

LAB_LOCK = Path("/run/hatang-lab.lock")
HATANG = [sys.executable, "-m", "hatang.cli", "lab"]
GOAL_S, GOAL_GIB = 60.0, 4.0
GOALS = {"merged": (60.0, 8.0)}  # (seconds, GiB) where a size has its own goal


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        children[ppid].append(int(stat.parent.name))
    return children


def lab_processes() -> dict[int, str]:
    """pid -> kind (the daemon's name in the registry, e.g. ``zebra``), descendants included."""
    kinds: dict[int, str] = {}
    children = children_map()
    for proc in Registry(lab_state_dir()).read().values():
        if not is_alive(proc):
            continue
        kind = proc.name.rsplit(":", 1)[-1] if proc.name.startswith("router:") else proc.name.split(":", 1)[0]
        stack = [proc.pid]
        while stack:
            pid = stack.pop()
            kinds.setdefault(pid, kind)
            stack.extend(children.get(pid, []))
    return kinds


def pss_by_kind() -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for pid, kind in lab_processes().items():
        total[kind] += pss_kib(pid)
    return dict(total)


class PeakSampler(threading.Thread):
    def __init__(self, every_s: float = 0.5):
        super().__init__(daemon=True)
        self.every_s, self.peak_kib, self._stop_event = every_s, 0, threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.peak_kib = max(self.peak_kib, sum(pss_by_kind().values()))
            except (OSError, ValueError):
                pass  # the registry was being rewritten
            self._stop_event.wait(self.every_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def lab(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    proc = subprocess.run([*HATANG, *args], capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"hatang lab {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed, proc


def daemons_up(registry: dict[str, Process]) -> dict[str, bool]:
    """Router → whether every one of its daemons runs (from the registry: no probe)."""
    routers: dict[str, bool] = {}
    for name, proc in registry.items():
        if name.startswith(PROCESS_PREFIX):
            router = name.split(":")[1]
            routers[router] = routers.get(router, True) and is_alive(proc)
    return routers


def measure(size: str) -> dict:
    lab("down")
    sampler = PeakSampler()
    sampler.start()
    try:
        up_s, up = lab("up", "--size", size, "--json")
        time.sleep(3)  # daemons settle (FRR reads the kernel's interfaces, snmpd its caches)
        settled = pss_by_kind()
        sampler.stop()
        daemons = daemons_up(Registry(lab_state_dir()).read())
        # Management is in band from day-0: a router answers once the routers on its way
        # are configured, so reachability is measured after the push (--configured).
        configure_s, _ = lab("up", "--size", size, "--configured")
        status_s, status = lab("status", "--json")
        items = json.loads(status.stdout)["components"]["routers"]["items"]
    finally:
        down_s, _ = lab("down")
    return {
        "size": size,
        "routers": len(items),
        "daemons_up": sum(daemons.values()),
        "reachable": sum(1 for i in items if i["ping"] and i["ssh"] and all(i["daemons"].values())),
        "up_s": up_s,
        "configure_s": configure_s,
        "components_s": json.loads(up.stdout)["seconds"],
        "phases": next((l.removeprefix(Phases.PREFIX) for l in up.stderr.splitlines() if l.startswith(Phases.PREFIX)), ""),
        "status_s": status_s,
        "down_s": down_s,
        "pss_settled_kib": settled,
        "pss_peak_kib": max(sampler.peak_kib, sum(settled.values())),
    }


def render(r: dict) -> str:
    goal_s, goal_gib = GOALS.get(r["size"], (GOAL_S, GOAL_GIB))
    gib = lambda kib: kib / 2**20  # noqa: E731
    mib = lambda kib: f"{kib / 1024:.0f} MiB"  # noqa: E731
    total = sum(r["pss_settled_kib"].values())
    rows = [
        ["lab up", f"{r['up_s']:.1f} s", f"≤ {goal_s:.0f} s", "met" if r["up_s"] <= goal_s else "MISSED"],
        ["peak PSS, all lab processes", f"{gib(r['pss_peak_kib']):.2f} GiB", f"< {goal_gib:.0f} GiB", "met" if gib(r["pss_peak_kib"]) < goal_gib else "MISSED"],
        ["PSS once settled", f"{gib(total):.2f} GiB", "", ""],
        ["lab down", f"{r['down_s']:.1f} s", "", ""],
        ["routers with every daemon running, after up (day-0)", f"{r['daemons_up']} / {r['routers']}", "all", "met" if r["daemons_up"] == r["routers"] else "MISSED"],
        ["then `lab up --configured` (the day-0 → day-1 push)", f"{r['configure_s']:.1f} s", "", ""],
        ["then lab status (every router probed)", f"{r['status_s']:.1f} s", "", ""],
        ["routers reachable once configured (ping, SSH, all daemons)", f"{r['reachable']} / {r['routers']}", "all", "met" if r["reachable"] == r["routers"] else "MISSED"],
    ]
    per_router = r["routers"] or 1
    kinds = sorted(r["pss_settled_kib"].items(), key=lambda kv: -kv[1])
    return (
        f"`hatang lab up --size {r['size']}`: {r['routers']} FRR routers (zebra, staticd, ospfd, sshd, snmpd each) "
        f"and whatever other components are registered, at day-0 (the provider's bootstrap: management in band, "
        f"so a router answers only once the routers on its way are pushed; reachability is measured after "
        f"`lab up --configured`). Seconds per component: "
        + ", ".join(f"{k} {v}" for k, v in r["components_s"].items()) + "."
        + (f" The routers' phases: {r['phases']}." if r.get("phases") else "") + "\n\n"
        + table(["measure", "hatang", "goal", ""], rows)
        + "\n\nPSS by process kind, settled (router daemons, then the other components' processes):\n\n"
        + table(["process", "total", "per router"], [[k, mib(v), f"{v / per_router / 1024:.1f} MiB" if k in DAEMONS else ""] for k, v in kinds])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="province")
    args = parser.parse_args()
    with open(LAB_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = measure(args.size)
    write_section("lab" if args.size != "merged" else "lab-merged", f"Lab: up and down of the {args.size} lab", f".venv/bin/python -m bench.lab --size {args.size}", render(result))


if __name__ == "__main__":
    main()
