"""A forced run of hatang's backup jobs (issue 27: "`cloud backups` shows fresh backups
after a scheduled or forced run"): PVE's "Run now" per node, per-guest outcome, never
another's job; a failing task and a full store end in a clear per-guest error."""

from __future__ import annotations

import json

from hatang import audit
from hatang.cloud.apply import apply
from hatang.cloud.backup_run import SCHEDULING, NodeTask, _guest_error, vzdump_params
from hatang.cloud.plan import plan

from .conftest import guests, token_client
from .test_cli import run


def applied_core(sim, inv):
    apply(inv, concurrency=8, plan=plan(inv, clusters=["pve-core"]), show_progress=False)
    return token_client(sim, "pve-core", "root@pam!admin", "Administrator")


def forced(*extra: str) -> tuple[int, dict]:
    done = run("backups", "--run-now", "--cluster", "pve-core", "--json", *extra)
    return done.returncode, json.loads(done.stdout)


def test_the_run_posts_the_job_as_the_gui_does_less_its_schedule():
    job = {"id": "hatang-bk-critical", "type": "vzdump", "schedule": "21:00", "enabled": 1, "storage": "backup-nfs",
           "mode": "snapshot", "prune-backups": "keep-daily=14", "vmid": "101,102,103", "comment": "hatang: …", "next-run": 1}
    assert vzdump_params(job, [102, 103]) == {"storage": "backup-nfs", "mode": "snapshot", "prune-backups": "keep-daily=14",
                                              "vmid": "102,103"}
    assert not SCHEDULING & set(vzdump_params(job, [101]))


def test_a_guests_error_is_its_own_log_line_else_the_tasks_status_or_the_deadline():
    task = NodeTask("pve-core", "pve-core-01", "hatang-bk-critical", (101, 102), upid="UPID:pve-core-01:1:2:3:vzdump::root@pam:",
                    exitstatus="job errors", log=["INFO: starting", "ERROR: Backup of VM 102 failed - no space left on device"])
    assert _guest_error(task, 102, 60) == "no space left on device"
    assert _guest_error(task, 101, 60) == "task on pve-core-01 failed: job errors"
    running = NodeTask("pve-core", "pve-core-01", "hatang-bk-critical", (101,), upid=task.upid)
    assert _guest_error(running, 101, 60).startswith(f"task {task.upid} still running after 60 s")
    offline = NodeTask("pve-core", "pve-core-02", "hatang-bk-critical", (103,), exitstatus="node pve-core-02 is offline: not backed up")
    assert _guest_error(offline, 103, 60) == "node pve-core-02 is offline: not backed up"


def test_a_forced_run_backs_up_every_guest_and_never_runs_another_job(sim, inv):
    admin = applied_core(sim, inv)
    admin.nodes("pve-core-01").qemu(9000).clone.post(newid=300, name="hand-made", full=1)
    admin.cluster.backup.post(id="ops-weekly", schedule="sun 03:00", storage="backup-nfs", vmid="300")
    before = len(list(audit.read("cloud")))
    code, data = forced()
    assert code == 0, data
    ours = {g["name"] for g in guests(admin) if "hatang" in g.get("tags", "")}
    assert {g["guest"] for g in data["run"]["guests"] if g["ok"]} == ours and data["run"]["ok"]
    assert {g["status"] for g in data["guests"]} == {"fresh"} and {g["guest"] for g in data["guests"]} == ours
    archived = {a["vmid"] for a in admin.nodes("pve-core-01").storage("backup-nfs").content.get(content="backup")}
    assert 300 not in archived  # the operators' job was not run
    assert {t["job"] for t in data["run"]["tasks"]} == {j["id"] for j in admin.cluster.backup.get() if j["id"].startswith("hatang-bk-")}
    nodes = {(t["job"], t["node"]) for t in data["run"]["tasks"]}
    assert len(nodes) == len(data["run"]["tasks"])  # one task per job and node holding its guests
    record = list(audit.read("cloud"))[before:]
    assert [r["action"] for r in record] == ["backup-run"] and record[0]["ok"]


def test_a_class_alone_is_run_and_shown(sim, inv):
    applied_core(sim, inv)
    code, data = forced("--class", "batch")
    assert code == 0, data
    assert {g["job"] for g in data["run"]["guests"]} == {"hatang-bk-batch"}
    assert {g["service_class"] for g in data["guests"]} == {"batch"}
    unknown = run("backups", "--run-now", "--cluster", "pve-core", "--class", "nightly")
    assert unknown.returncode == 2 and "--class nightly: no guest of that class" in unknown.stderr
    missing = run("backups", "--run-now", "--cluster", "pve-dmz", "--class", "batch")  # the DMZ has no batch guest, so no job
    assert missing.returncode == 1 and "no backup job hatang-bk-batch on pve-dmz" in missing.stderr


def test_a_failing_task_fails_its_node_guests_with_the_task_error(sim, inv):
    admin = applied_core(sim, inv)
    sim.faults.fail_task("vzdump", "vzdump: backup-nfs: I/O error", count=1)
    code, data = forced()
    assert code == 1
    failed = [g for g in data["run"]["guests"] if not g["ok"]]
    task = next(t for t in data["run"]["tasks"] if t["exitstatus"] != "OK")
    assert failed and {(g["node"], g["job"]) for g in failed} == {(task["node"], task["job"])}
    assert {g["error"] for g in failed} == {"task on %s failed: vzdump: backup-nfs: I/O error" % task["node"]}
    assert {g["guest"] for g in data["guests"] if g["status"] == "missing"} == {g["guest"] for g in failed}
    assert not any(g.get("lock") for g in guests(admin))


def test_a_full_backup_store_fails_the_run_clearly_and_leaves_no_guest_locked(sim, inv):
    admin = applied_core(sim, inv)
    store = next(g for g in guests(admin) if g["name"] == "backup")
    admin.nodes(store["node"]).qemu(store["vmid"]).config.put(scsi2="backup-nfs:60000")  # the NFS store is now full
    done = run("backups", "--run-now", "--cluster", "pve-core")
    assert done.returncode == 1
    assert "no space left on device" in done.stdout and "0 ok" in done.stderr
    assert not any(g.get("lock") for g in guests(admin))
