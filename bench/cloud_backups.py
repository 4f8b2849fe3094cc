"""Backups of the private cloud on the Proxmox simulator (issue 27): coverage, freshness,
restore tests per service class, and the faults' outcomes.

One simulator of the repository's inventory: ``hatang cloud apply --yes`` on both
clusters, then ``/cluster/backup-info/not-backed-up`` read (what no job covers), a backup
forced on every node (the simulator's scheduler does not run jobs on their calendar), ``hatang
cloud backups --json`` (fresh/stale/missing), and ``hatang cloud restore-test`` of one
service per class (and the containers) ``ROUNDS`` times each: its RTO (restore request
until the copy runs) and whether the copy was cleaned up. The simulator's tasks last
``TASK_SECONDS``; a real restore copies the disks, so its RTO is larger by the copy time:
these figures measure hatang's steps, not a real data copy. Then the faults: a failed
backup task, a full backup storage, a restore to a node without the backup storage, a
failed restore task: how each ended and whether anything was left behind.

Run: ``.venv/bin/python -m bench.cloud_backups``. Needs no lab and no root; leaves nothing running.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.cloud import ssh_key
from bench.cloud_faults import Run
from bench.report import table, write_section
from hatang.lab.pvesim.launch import Simulator

TASK_SECONDS = 0.3
ROUNDS = 3
CLUSTER = "pve-core"
SERVICES = (("qlvb", "critical"), ("mail", "standard"), ("sao-luu", "batch"), ("ha-tang-chung", "standard, containers"),
            ("dvc", "critical, pve-dmz"))


def force_backups(run: Run, cluster: str = CLUSTER) -> list[str]:
    """A backup run on every node of the cluster; the exit status of each task."""
    admin = run.api(cluster, "Administrator")
    out = []
    for node in sorted({g["node"] for g in run.guests(cluster)}):
        upid = admin.nodes(node).vzdump.post(all=1, storage="backup-nfs", mode="snapshot")
        out.append(wait(admin, node, upid))
    return out


def wait(api, node: str, upid: str, timeout_s: float = 60.0) -> str:
    """A task's exit status, polled with a deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = api.nodes(node).tasks(upid).status.get()
        if status["status"] == "stopped":
            return status["exitstatus"]
        time.sleep(0.05)
    return "timeout"


def statuses(run: Run) -> dict[str, int]:
    guests = json.loads(run.hatang("backups", "--json").stdout)["guests"]
    return {s: sum(1 for g in guests if g["status"] == s) for s in ("fresh", "stale", "missing")}


def restore(run: Run, service: str, *extra: str) -> dict:
    done = run.hatang("restore-test", service, "--json", *extra)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"ok": False, "error": (done.stderr.strip().splitlines() or ["(no message)"])[-1], "cleaned_up": None}


def leftovers(run: Run) -> str:
    copies = [g["name"] for g in run.guests(CLUSTER) if g["name"].startswith("rt-")]
    locked = [g["name"] for g in run.guests(CLUSTER) if g.get("lock")]
    return ", ".join(copies + [f"{n} locked" for n in locked]) or "none"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hatang-backups-") as tmp:
        work = Path(tmp)
        (work / "state").mkdir()
        env = {**os.environ, "HATANG_STATE_DIR": str(work / "state"), "HATANG_SECRET_SERVER_ADMIN_USERNAME": "htadmin",
               "HATANG_SECRET_SERVER_ADMIN_SSH_PRIVATE_KEY_FILE": str(ssh_key(work))}
        with Simulator(work / "pvesim", task_seconds=TASK_SECONDS) as sim:
            run = Run(work, sim, {**env, **sim.environment()})
            applied = {c: run.apply(c)[0] for c in ("pve-core", "pve-dmz")}
            uncovered = {c: len(run.api(c, "PVEAuditor").cluster("backup-info")("not-backed-up").get()) for c in applied}
            before = statuses(run)
            tasks = force_backups(run) + force_backups(run, "pve-dmz")
            after = statuses(run)
            rows = []
            for service, klass in SERVICES:
                results = [restore(run, service) for _ in range(ROUNDS)]
                rtos = [r["rto_s"] for r in results if r.get("rto_s") is not None]
                rows.append([service, klass, f"{sum(1 for r in results if r['ok'])}/{ROUNDS}",
                             f"{statistics.median(rtos):.2f}" if rtos else "-", f"{max(rtos):.2f}" if rtos else "-",
                             "yes" if all(r["cleaned_up"] for r in results) else "NO"])
            left = leftovers(run)
            faults = []
            sim.faults.fail_task("vzdump", "vzdump: backup-nfs: I/O error")
            faults.append(["backup task fails", force_backups(run)[0], leftovers(run)])
            nodes = sorted({g["node"] for g in run.guests(CLUSTER)})
            run.api(CLUSTER, "Administrator").storage("backup-nfs").put(nodes=",".join(nodes[:-1]))
            outcome = restore(run, "qlvb", "--node", nodes[-1])
            faults.append(["restore to a node without the backup storage", outcome["error"], leftovers(run)])
            run.api(CLUSTER, "Administrator").storage("backup-nfs").put(delete="nodes")
            sim.faults.fail_task("qmrestore", "command 'vma extract' failed: got signal 5")
            outcome = restore(run, "qlvb")
            faults.append(["restore task fails", outcome["error"], leftovers(run)])
            store = next(g for g in run.guests(CLUSTER) if g["name"] == "backup")
            admin = run.api(CLUSTER, "Administrator")
            admin.nodes(store["node"]).qemu(store["vmid"]).config.put(scsi2="backup-nfs:60000")  # the NFS store fills up
            faults.append(["backup storage full", force_backups(run)[0], leftovers(run)])
    body = ("`cloud apply`: " + ", ".join(f"{c} {a}" for c, a in applied.items()) + "; guests in no backup job afterwards "
            "(`not-backed-up`): " + ", ".join(f"{c} **{n}**" for c, n in uncovered.items()) + ".  \n"
            f"`cloud backups` before a run: {before}; after a forced run on every node ({', '.join(sorted(set(tasks)))}): {after}.\n\n"
            + table(["service", "class", "restore tests ok", "RTO median (s)", "RTO max (s)", "cleaned up"], rows)
            + f"\n\nCopies or locks left after the restore tests: {left}. Simulator tasks last {TASK_SECONDS} s each.\n\n"
            + table(["fault", "how it ended", "left behind"], [[f, m.replace("|", "/"), lb] for f, m, lb in faults]))
    write_section("cloud-backups", "Cloud backups: coverage, freshness, restore tests (issue 27)",
                  ".venv/bin/python -m bench.cloud_backups", body, reliability=True)


if __name__ == "__main__":
    main()
