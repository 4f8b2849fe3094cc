"""Fault run: ``hatang cloud apply`` against the Proxmox simulator under six faults (issue 19).

Each scenario starts a fresh simulator of the repository's inventory, injects its fault
through the simulator's admin CLI (``python -m hatang.lab.pvesim … node offline|lock|
http-error|slow-alloc``) or a colleague's API token, and runs ``hatang cloud apply --yes
--json`` as an operator would. Then the fault is lifted and apply runs again. Measured
per scenario: how the first apply ended (converged, or stopped with which message, and
how long it took to say so), whether any guest name exists twice, whether any volume
was left orphaned (an ``unusedN`` disk or a guest marked ``created by hatang`` and never
finished), and whether the re-run converged (``plan --detailed-exitcode`` exits 0).
Goals: no duplicate guest, no orphaned volume, every apply converges or stops with a
clear message, a re-run converges.

Run: ``.venv/bin/python -m bench.cloud_faults``. Needs no lab and no root; leaves nothing running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proxmoxer import ProxmoxAPI

from bench.cloud import ssh_key
from bench.report import table, write_section
from hatang.lab.pvesim.access import Access
from hatang.lab.pvesim.launch import Simulator

TASK_SECONDS = 0.3  # slow enough for a fault to land mid-apply
TIMEOUT_S = 180


@dataclass
class Outcome:
    scenario: str
    first: str  # "converged" or the message it stopped with
    first_s: float
    duplicates: list[str]
    orphans: list[str]
    rerun: bool
    note: str = ""


class Run:
    """One scenario's simulator, environment and helpers."""

    def __init__(self, work: Path, sim: Simulator, env: dict[str, str]):
        self.work, self.sim, self.env = work, sim, env
        self._clients: dict[tuple[str, str], ProxmoxAPI] = {}
        self.notes: list[str] = []  # what the applies' steps said besides success

    def hatang(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hatang.cli", "cloud", *args], capture_output=True, text=True,
                              env=env or self.env, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)

    def admin(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "hatang.lab.pvesim", "--dir", str(self.sim.directory), *args],
                       check=True, capture_output=True, timeout=30)

    def api(self, cluster: str, role: str = "PVEAdmin") -> ProxmoxAPI:
        """A colleague's client (one token per role: making it again would change its secret)."""
        if (cluster, role) not in self._clients:
            name = f"{role.lower()}-{cluster}"
            secret = Access(self.sim.directory).add_token(f"ops@pve!{name}", role)
            end = self.sim.endpoints[cluster]
            self._clients[(cluster, role)] = ProxmoxAPI(end["host"], port=end["port"], user="ops@pve", token_name=name,
                                                        token_value=secret, verify_ssl=end["ca"])
        return self._clients[(cluster, role)]

    def apply(self, cluster: str, env: dict[str, str] | None = None) -> tuple[str, float]:
        started = time.monotonic()
        done = self.hatang("apply", "--yes", "--json", "--cluster", cluster, "--concurrency", "4", env=env)
        took = time.monotonic() - started
        try:
            self.notes += [s["data"]["note"] for s in json.loads(done.stdout).get("steps", []) if s.get("data", {}).get("note")]
        except json.JSONDecodeError:
            pass
        if done.returncode == 0:
            return "converged", took
        try:
            data = json.loads(done.stdout)
            details = [d for d in data.get("details", []) if not d.startswith("fix the cause")]
            message = data.get("error", "") + (": " + details[0] if details else "")
        except json.JSONDecodeError:
            message = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        return message, took

    def guests(self, cluster: str) -> list[dict[str, Any]]:
        return [g for g in self.api(cluster, "PVEAuditor").cluster.resources.get(type="vm") if not g.get("template")]

    def check(self, scenario: str, cluster: str, first: tuple[str, float], rerun_env: dict[str, str] | None = None, note: str = "") -> Outcome:
        rerun = self.apply(cluster, rerun_env)[0] == "converged"
        rerun = rerun and self.hatang("plan", "--cluster", cluster, "--detailed-exitcode").returncode == 0
        names = Counter(g["name"] for g in self.guests(cluster))
        admin = self.api(cluster, "PVEAuditor")
        orphans = []
        for guest in self.guests(cluster):
            config = admin.nodes(guest["node"]).qemu(guest["vmid"]).config.get() if guest["type"] == "qemu" else {}
            orphans += [f"{guest['name']}:{k}" for k in config if k.startswith("unused")]
            if "hatang" not in (guest.get("tags") or ""):
                orphans.append(f"{guest['name']} (vmid {guest['vmid']}) untagged")
        return Outcome(scenario, first[0], first[1], sorted(n for n, c in names.items() if c > 1), orphans, rerun, note)


def node_offline(run: Run) -> Outcome:
    holder: dict[str, tuple[str, float]] = {}
    worker = threading.Thread(target=lambda: holder.update(first=run.apply("pve-dmz")))
    worker.start()
    deadline = time.monotonic() + 60
    while not any(g.get("lock") == "clone" for g in run.guests("pve-dmz")) and time.monotonic() < deadline:
        time.sleep(0.05)
    run.admin("node", "offline", "pve-dmz-02")
    worker.join(TIMEOUT_S)
    run.admin("node", "online", "pve-dmz-02")
    return run.check("a node going offline mid-apply (pve-dmz-02, during the clones)", "pve-dmz", holder["first"])


def backup_lock(run: Run) -> Outcome:
    run.apply("pve-core")
    api = run.api("pve-core")
    backup = next(g for g in run.guests("pve-core") if g["name"] == "backup")  # not HA: stopped for real
    until_stopped(api, backup["node"], api.nodes(backup["node"]).qemu(backup["vmid"]).status.stop.post())
    run.admin("lock", "pve-core", str(backup["vmid"]), "--kind", "backup", "--seconds", "3")
    return run.check("a lock held by a backup task (3 s, on a guest hatang must start)", "pve-core", run.apply("pve-core"),
                     note="the start task ends 'VM is locked (backup)' and is retried")


def until_stopped(api: ProxmoxAPI, node: str, upid: str) -> None:
    deadline = time.monotonic() + 30
    while api.nodes(node).tasks(upid).status.get()["status"] != "stopped":
        if time.monotonic() > deadline:
            raise RuntimeError(f"task {upid} did not stop")
        time.sleep(0.05)


def error_mid_clone(run: Run) -> Outcome:
    run.admin("http-error", "POST", "/clone$", "--status", "500", "--message", "unable to create VM - rbd create error", "--count", "2")
    return run.check("a 500 mid-clone (2 clone requests refused)", "pve-dmz", run.apply("pve-dmz"))


def slow_allocation(run: Run) -> Outcome:
    run.admin("slow-alloc", "backup-nfs", "--seconds", "6")
    slow = {**run.env, "HATANG_PVE_TIMEOUT": "2"}
    return run.check("a timeout during a disk allocation (backup VM's 60,000 GiB scsi1: 6 s, request timeout 2 s)", "pve-core",
                     run.apply("pve-core", slow), note="the PUT is not resent; the config is read until the disk is there")


def ha_blocked(run: Run) -> Outcome:
    """An HA move the plan wants, into a node where the guest has a negative-affinity
    partner hatang does not know of (an administrator's own HA rule)."""
    run.apply("pve-core")
    api = run.api("pve-core")
    by_name = {g["name"]: g for g in run.guests("pve-core")}
    one, two = by_name["vc-mcu-01"], by_name["vc-mcu-02"]
    api.cluster.ha.resources(f"vm:{one['vmid']}").delete()  # out of HA and its rule, moved beside its partner by hand
    until_stopped(api, one["node"], api.nodes(one["node"]).qemu(one["vmid"]).migrate.post(target=two["node"], online=1))
    api.cluster.ha.resources.post(sid=f"vm:{one['vmid']}", state="started")
    planned = json.loads(run.hatang("plan", "--json", "--cluster", "pve-core").stdout)
    move = next(a for a in planned["actions"] if a["op"] == "move")  # one of the pair, away from the other
    other = next(g for g in run.guests("pve-core") if g["node"] == move["target"] and g.get("hastate"))
    api.cluster.ha.rules.post(rule="ops-keep-apart", type="resource-affinity", affinity="negative",
                              resources=f"vm:{move['vmid']},vm:{other['vmid']}")
    first = run.apply("pve-core")
    api.cluster.ha.rules("ops-keep-apart").delete()  # the administrator lifts their rule
    return run.check("an HA migrate blocked by affinity (an administrator's own rule)", "pve-core", first,
                     note="stops naming the blocking guest; converges once the rule is lifted")


def concurrent(run: Run) -> Outcome:
    """Two applies at once from two machines (two state directories: the file lock that
    stops a second apply on one machine does not reach the other)."""
    other = {**run.env, "HATANG_STATE_DIR": str(run.work / "state-2")}
    Path(other["HATANG_STATE_DIR"]).mkdir(exist_ok=True)
    results: list[tuple[str, float]] = []
    workers = [threading.Thread(target=lambda e=e: results.append(run.apply("pve-dmz", e))) for e in (run.env, other)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(TIMEOUT_S)
    both = sorted(r[0] for r in results)
    first = ("converged" if both == ["converged", "converged"] else " / ".join(both), max(r[1] for r in results))
    before = sum("cloned nothing" in n for n in run.notes)
    twins = sum("destroyed our" in n for n in run.notes)
    return run.check("two concurrent applies (two machines)", "pve-dmz", first,
                     note=f"{before} guest(s) the other apply had made found just before the clone; {twins} twin(s) found after "
                          "the clone and destroyed by the apply that made them (the lower id stays)")


SCENARIOS: tuple[Callable[[Run], Outcome], ...] = (node_offline, backup_lock, error_mid_clone, slow_allocation, ha_blocked, concurrent)


def main() -> None:
    outcomes = []
    for scenario in SCENARIOS:
        with tempfile.TemporaryDirectory(prefix="hatang-faults-") as tmp:
            work = Path(tmp)
            env = {**os.environ, "HATANG_STATE_DIR": str(work / "state"), "HATANG_SECRET_SERVER_ADMIN_USERNAME": "htadmin",
                   "HATANG_SECRET_SERVER_ADMIN_SSH_PRIVATE_KEY_FILE": str(ssh_key(work))}
            (work / "state").mkdir()
            with Simulator(work / "pvesim", task_seconds=TASK_SECONDS) as sim:
                outcome = scenario(Run(work, sim, {**env, **sim.environment()}))
        outcomes.append(outcome)
        print(f"{outcome.scenario}: {outcome.first} ({outcome.first_s:.1f} s); re-run converged: {outcome.rerun}", file=sys.stderr)
    rows = [[o.scenario, o.first.replace("|", "/"), f"{o.first_s:.1f}", ", ".join(o.duplicates) or "none",
             ", ".join(o.orphans) or "none", "yes" if o.rerun else "NO", o.note] for o in outcomes]
    met = all(not o.duplicates and not o.orphans and o.rerun and o.first for o in outcomes)
    body = (table(["fault", "first apply", "s to report", "duplicate guests", "orphaned volumes", "re-run converges", "note"], rows)
            + "\n\nGoals (no duplicate guest, no orphaned volume, converge or stop with a clear message, re-run converges): "
            + ("**met** in every scenario." if met else "**not met**: see the rows above."))
    write_section("cloud-faults", "Cloud apply under Proxmox faults (issue 19)", ".venv/bin/python -m bench.cloud_faults", body, reliability=True)


if __name__ == "__main__":
    main()
