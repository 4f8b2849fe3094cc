"""Backup jobs per service class (issue 27): after an apply no guest is left out of a
backup job, hatang's jobs follow the inventory's policies, and other jobs are left alone."""

from __future__ import annotations

import json
import time

from hatang.cloud.apply import apply
from hatang.cloud.backup_report import backup_states
from hatang.cloud.backups import DesiredJob, prune_backups
from hatang.cloud.drift import drift
from hatang.cloud.plan import diff, plan

from .conftest import guests, token_client, wait_task
from .test_cli import run
from .test_diff import CLUSTER, guest, view, wanted


def test_after_apply_no_guest_is_left_out_of_a_backup_job(sim, inv):
    admin = token_client(sim, "pve-core", "root@pam!admin", "Administrator")  # jobs need Sys.Modify
    assert admin.cluster("backup-info")("not-backed-up").get() == []  # only templates so far
    mine = admin.nodes("pve-core-01").qemu(9000).clone.post(newid=300, name="hand-made", full=1)  # not hatang's
    admin.cluster.backup.post(id="ops-weekly", schedule="sun 03:00", storage="backup-nfs", vmid="300", comment="the operators' own")
    apply(inv, concurrency=8, show_progress=False)
    assert mine
    assert token_client(sim, "pve-core", "auditor@pve!check", "PVEAuditor").cluster("backup-info")("not-backed-up").get() == []
    dmz = token_client(sim, "pve-dmz", "auditor@pve!check", "PVEAuditor").cluster("backup-info")("not-backed-up").get()
    assert len(dmz) == sum(1 for vm in inv.vms() if vm.cluster == "pve-dmz")  # the DMZ has no backup storage: said, not hidden
    assert any("backup job hatang-bk-critical: no storage 'backup-nfs' on the cluster" in w for w in plan(inv).warnings)
    jobs = {j["id"]: j for j in admin.cluster.backup.get()}
    policy = inv.backup_policy_by_class["critical"]
    critical = jobs["hatang-bk-critical"]
    assert (critical["schedule"], critical["storage"], critical["mode"]) == (policy.schedule, policy.storage, "snapshot")
    assert critical["prune-backups"] == "keep-daily=14,keep-monthly=12,keep-weekly=8"
    assert len(critical["vmid"].split(",")) == sum(1 for vm in inv.vms() if vm.cluster == "pve-core" and vm.service_class == "critical")
    assert jobs["ops-weekly"]["vmid"] == "300" and jobs["ops-weekly"]["comment"] == "the operators' own"  # untouched
    assert plan(inv).empty


def test_a_hand_edited_job_is_planned_back_and_reverted(sim, inv):
    apply(inv, concurrency=8, plan=plan(inv, clusters=["pve-core"]), show_progress=False)
    admin = token_client(sim, "pve-core", "root@pam!admin", "Administrator")  # jobs need Sys.Modify
    admin.cluster.backup("hatang-bk-standard").put(schedule="mon 01:00", vmid="100")
    found = {(i.name, i.field): (i.expected, i.actual) for i in drift(inv, clusters=["pve-core"]).items}
    assert found[("hatang-bk-standard", "schedule")] == (inv.backup_policy_by_class["standard"].schedule, "mon 01:00")
    again = plan(inv, clusters=["pve-core"])
    changed = {a.name: {c.field for c in a.changes} for a in again.actions if a.op == "backup-job"}
    assert changed == {"hatang-bk-standard": {"schedule", "vmid"}}
    apply(inv, concurrency=3, plan=again, show_progress=False)
    assert admin.cluster.backup("hatang-bk-standard").get()["schedule"] == inv.backup_policy_by_class["standard"].schedule
    assert plan(inv, clusters=["pve-core"]).empty and drift(inv, clusters=["pve-core"]).items == []


def test_a_policy_naming_a_storage_the_cluster_lacks_is_a_warning_not_a_job():
    job = DesiredJob("hatang-bk-standard", "standard", ("app",), (("enabled", "1"), ("mode", "snapshot"),
                     ("prune-backups", "keep-daily=7"), ("schedule", "21:00"), ("storage", "pbs-remote")))
    planned = diff(CLUSTER, [wanted("app")], view(guest(9000, "tpl", (), template=True)), jobs=[job])
    assert not planned.of("backup-job")
    assert planned.warnings == ["backup job hatang-bk-standard: no storage 'pbs-remote' on the cluster (the backup policy "
                                "of class 'standard' names it): app have no backup"]


def test_retention_is_written_as_pve_prints_it(inv):
    assert prune_backups(inv.backup_policy_by_class["batch"]) == "keep-monthly=3,keep-weekly=4"  # keep-daily 0: left out


def test_cloud_backups_shows_missing_then_fresh_after_a_forced_run_and_a_failed_run_stays_missing(sim, inv):
    apply(inv, concurrency=8, plan=plan(inv, clusters=["pve-core"]), show_progress=False)
    before = run("backups", "--cluster", "pve-core", "--json")
    assert before.returncode == 1 and {g["status"] for g in json.loads(before.stdout)["guests"]} == {"missing"}
    admin = token_client(sim, "pve-core", "root@pam!admin", "Administrator")
    sim.faults.fail_task("vzdump", "vzdump: backup-nfs: I/O error", count=1)  # the first node's run fails
    nodes = sorted({g["node"] for g in guests(admin)})
    for node in nodes:
        upid = admin.nodes(node).vzdump.post(all=1, storage="backup-nfs", mode="snapshot")
        wait_task(admin, node, upid)
    after = json.loads(run("backups", "--cluster", "pve-core", "--json").stdout)["guests"]
    by_status = {s: {g["guest"] for g in after if g["status"] == s} for s in ("fresh", "missing", "stale")}
    failed = {g["name"] for g in guests(admin) if g["node"] == nodes[0]}
    assert by_status["missing"] == failed and by_status["fresh"] == {g["guest"] for g in after} - failed
    fresh = next(g for g in after if g["status"] == "fresh")
    assert fresh["job"].startswith("hatang-bk-") and fresh["size"] > 0 and fresh["age_h"] <= fresh["rpo_h"]
    assert fresh["volid"].startswith("backup-nfs:backup/vzdump-") and not any(g.get("lock") for g in guests(admin))
    later = backup_states(inv, clusters=["pve-core"], now=time.time() + 25 * 3600)  # a day and an hour on
    rpo = {c: p.rpo_hours for c, p in inv.backup_policy_by_class.items()}
    assert {(s.guest, s.status) for s in later if s.last} == {(s.guest, "stale" if rpo[s.service_class] < 25 else "fresh") for s in later if s.last}
    assert {s.status for s in later if s.last} == {"stale", "fresh"}  # 24 h classes stale, the 168 h batch class not


def test_a_backup_to_a_full_storage_fails_clearly_and_leaves_no_guest_locked(sim, inv):
    apply(inv, concurrency=8, plan=plan(inv, clusters=["pve-core"]), show_progress=False)
    admin = token_client(sim, "pve-core", "root@pam!admin", "Administrator")
    store = next(g for g in guests(admin) if g["name"] == "backup")
    admin.nodes(store["node"]).qemu(store["vmid"]).config.put(scsi2="backup-nfs:60000")  # the NFS store is now full
    status = wait_task(admin, store["node"], admin.nodes(store["node"]).vzdump.post(all=1, storage="backup-nfs"))
    assert status["exitstatus"].startswith("vzdump: backup-nfs: no space left on device")
    assert not any(g.get("lock") for g in guests(admin))
    assert {g["status"] for g in json.loads(run("backups", "--cluster", "pve-core", "--json").stdout)["guests"]} == {"missing"}
