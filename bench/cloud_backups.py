"""Backups of the private cloud on the Proxmox simulator (issue 27): coverage, freshness,
restore tests per service class, and the faults' outcomes.

One simulator of the repository's inventory: ``hatang cloud apply --yes`` on both
clusters, then ``/cluster/backup-info/not-backed-up`` read (what no job covers), a backup
forced on every node (the simulator's scheduler does not run jobs on their calendar), ``hatang
cloud backups --json`` (fresh/stale/missing), and ``hatang cloud restore-test`` of one
service per class (and the containers) ``ROUNDS`` times each: its RTO (restore request
until the copy runs), its role check (the deploy room's health check of the guest's
roles, run inside the network-less copy through the guest agent) and whether the copy was
cleaned up. The guests restored are those the lab runs as servers (the small lab's
hosts only, no routers): each deployed with its role first, so a backup of the guest
captures the server's files and the copy's guest agent runs Debian's nginx, PostgreSQL's
tools and the backup server's checks on them. The simulator's tasks last
``TASK_SECONDS``; a real restore copies the disks, so its RTO is larger by the copy time:
these figures measure hatang's steps, not a real data copy. Then the faults: a failed
backup task, a full backup storage, a restore to a node without the backup storage, a
failed restore task: how each ended and whether anything was left behind.

Run as root: ``.venv/bin/python -m bench.cloud_backups``. Holds the machine's lab lock, brings up
only the lab's hosts, and leaves nothing running.
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
from bench.lab_hosts import lab_hosts
from bench.report import table, write_section
from hatang.lab.pvesim.launch import Simulator

TASK_SECONDS = 0.3
ROUNDS = 3
CLUSTER = "pve-core"
#: (service, class, its guest the lab runs as a server and the role deployed on it, or None)
SERVICES = (("csdl", "critical", ("db-pg-01", "postgresql")), ("mail", "standard", None), ("sao-luu", "batch", ("backup", "backup-server")),
            ("ha-tang-chung", "standard, containers", None), ("cong-ttdt", "standard, pve-dmz", ("portal-web-01", "web-portal")))
LAB_HOSTS = tuple(server[0] for _, _, server in SERVICES if server)


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


def deploy_servers() -> list[str]:
    """Each lab server's role (the backup server first: the others send it their backups)."""
    from hatang.deploy import runner
    from hatang.inventory import load

    inv = load(None, "lab")
    order = sorted((s[2] for s in SERVICES if s[2]), key=lambda server_role: server_role[1] != "backup-server")
    results = [runner.run(inv, role, limit=[server], show_progress=False).results.by_host[server] for server, role in order]
    return [f"{r.host}: {r.error}" for r in results if not r.ok]


def role_check(results: list[dict]) -> str:
    """The role check's outcomes over the rounds: ``passed ×3``, ``none ×3``, or the first failure."""
    kinds = [str(r.get("role_check", "not run")).split(":")[0] for r in results]
    first = next((r["role_check"] for r in results if str(r.get("role_check", "")).startswith(("failed", "not run"))), "")
    counted = ", ".join(f"{kind} ×{kinds.count(kind)}" for kind in dict.fromkeys(kinds))
    return f"{counted} ({first.replace('|', '/')[:120]})" if first else counted


def main() -> None:
    with lab_hosts(LAB_HOSTS) as lab, tempfile.TemporaryDirectory(prefix="hatang-backups-") as tmp:
        failed = deploy_servers()
        if failed:
            raise SystemExit(f"deploying the lab's servers failed: {failed}")
        work = Path(tmp)
        (work / "state").mkdir()
        env = {**os.environ, "HATANG_STATE_DIR": str(work / "state"), "HATANG_SECRET_SERVER_ADMIN_USERNAME": "htadmin",
               "HATANG_SECRET_SERVER_ADMIN_SSH_PRIVATE_KEY_FILE": str(ssh_key(work))}
        # beside the lab's hosts: its backups copy their files (lab/pvesim/guest_agent.py)
        with Simulator(lab.state_dir / "bench-pvesim", task_seconds=TASK_SECONDS) as sim:
            run = Run(work, sim, {**env, **sim.environment()})
            applied = {c: run.apply(c)[0] for c in ("pve-core", "pve-dmz")}
            uncovered = {c: len(run.api(c, "PVEAuditor").cluster("backup-info")("not-backed-up").get()) for c in applied}
            before = statuses(run)
            tasks = force_backups(run) + force_backups(run, "pve-dmz")
            after = statuses(run)
            rows = []
            for service, klass, server in SERVICES:
                results = [restore(run, service, *(("--guest", server[0]) if server else ())) for _ in range(ROUNDS)]
                rtos = [r["rto_s"] for r in results if r.get("rto_s") is not None]
                rows.append([service, klass, server[0] if server else "-", f"{sum(1 for r in results if r['ok'])}/{ROUNDS}",
                             f"{statistics.median(rtos):.2f}" if rtos else "-", f"{max(rtos):.2f}" if rtos else "-",
                             role_check(results), "yes" if all(r["cleaned_up"] for r in results) else "NO"])
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
            + table(["service", "class", "guest", "restore tests ok", "RTO median (s)", "RTO max (s)", "role check in the copy", "cleaned up"], rows)
            + f"\n\nCopies or locks left after the restore tests: {left}. Simulator tasks last {TASK_SECONDS} s each; the RTO "
            "ends when the copy runs, before its role check. Role check `none`: the guest's roles have no health check "
            "(`base` only: the baseline audit is its check; containers here have no role).\n\n"
            + table(["fault", "how it ended", "left behind"], [[f, m.replace("|", "/"), lb] for f, m, lb in faults]))
    write_section("cloud-backups", "Cloud backups: coverage, freshness, restore tests (issue 27)",
                  "sudo .venv/bin/python -m bench.cloud_backups", body, reliability=True)


if __name__ == "__main__":
    main()
