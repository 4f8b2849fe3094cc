"""Faults end with a clear message, and a re-run converges without duplicating a guest."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from hatang.cloud.apply import ApplyError, apply, exclusive
from hatang.cloud.client import Pve
from hatang.cloud.drift import drift
from hatang.cloud.operations import Operations
from hatang.cloud.plan import plan
from hatang.errors import HatangError
from hatang.lab.pvesim.launch import Simulator

from waiting import eventually

from .conftest import OPERATOR, guests, simulator, token_client, wait_task

DMZ = ["pve-dmz"]


def converge_without_duplicates(sim, inv) -> None:
    """A re-run applies what is left; then the plan is empty and every name is unique."""
    apply(inv, concurrency=3, plan=plan(inv, clusters=DMZ), show_progress=False)
    assert plan(inv, clusters=DMZ).empty
    names = Counter(g["name"] for g in guests(token_client(sim, "pve-dmz", "auditor@pve!check", "PVEAuditor")))
    assert set(names) == {vm.name for vm in inv.vms() if vm.cluster == "pve-dmz"}
    assert max(names.values()) == 1


def test_failing_clone_task_stops_apply_clearly_then_rerun_converges(sim, inv):
    sim.faults.fail_task("qmclone", "clone failed: rbd: error opening image base-9000-disk-0: (2) No such file", count=1)
    with pytest.raises(ApplyError) as failed:
        apply(inv, concurrency=3, plan=plan(inv, clusters=DMZ), show_progress=False)
    text = " ".join([failed.value.message, *failed.value.details])
    assert "create" in failed.value.message and "rbd: error opening image" in text and "qmclone" in text
    assert "ha-rule" not in {s.op for s in failed.value.report.steps}  # later phases never started
    converge_without_duplicates(sim, inv)


def test_failing_start_leaves_a_tagged_guest_that_the_rerun_starts(sim, inv):
    sim.faults.fail_task("qmstart", "start failed: QEMU exited with code 1", count=1)
    with pytest.raises(ApplyError) as failed:
        apply(inv, concurrency=3, plan=plan(inv, clusters=DMZ), show_progress=False)
    assert any("QEMU exited with code 1" in d for d in failed.value.details), failed.value.details
    again = plan(inv, clusters=DMZ)
    assert {c.field for a in again.actions if a.op == "update" for c in a.changes} == {"status", "ha"}  # start failed before HA
    assert not [a for a in again.actions if a.op == "create"], failed.value.details
    converge_without_duplicates(sim, inv)


def test_forced_500_is_reported_with_pve_reason_then_rerun_converges(sim, inv):
    sim.faults.http_error("POST", r"/clone$", "unable to create VM 100 - rbd create 'vm-100-disk-0' error", status=500)
    with pytest.raises(ApplyError) as failed:
        apply(inv, concurrency=1, plan=plan(inv, clusters=DMZ), show_progress=False)
    assert any("500 unable to create VM 100 - rbd create" in d for d in failed.value.details)
    converge_without_duplicates(sim, inv)


def test_node_going_offline_mid_apply(tmp_path, inv):
    with simulator(tmp_path, task_seconds=0.4) as sim:
        outcome: dict = {}
        worker = threading.Thread(target=lambda: outcome.update(error=_apply_catching(inv)))
        worker.start()
        api = token_client(sim, "pve-dmz", "auditor@pve!check", "PVEAuditor")
        deadline = time.monotonic() + 20
        while not any(g.get("lock") == "clone" for g in guests(api)) and time.monotonic() < deadline:
            time.sleep(0.02)
        sim.faults.set_offline("pve-dmz-01")  # the template's node: its clone workers die
        worker.join(60)
        error = outcome["error"]
        assert isinstance(error, ApplyError)
        text = " ".join(error.details)
        assert "595 No route to host" in text or "unexpected status" in text
        blocked = plan(inv, clusters=DMZ)  # while it is down, the plan says why it cannot create
        assert any("pve-dmz-01, which is offline" in p for p in blocked.problems)
        sim.faults.set_offline("pve-dmz-01", False)
        converge_without_duplicates(sim, inv)


def _apply_catching(inv) -> Exception | None:
    try:
        apply(inv, concurrency=2, plan=plan(inv, clusters=DMZ), show_progress=False)
    except Exception as exc:  # the test inspects it
        return exc
    return None


def test_lock_is_retried_with_backoff(sim, inv):
    """P4: PVE checks the lock of a start inside its task: ``VM is locked (backup)`` comes
    back as the task's exit status, and is retried like a locked request."""
    apply(inv, concurrency=3, plan=plan(inv, clusters=DMZ), show_progress=False)
    ops = token_client(sim, "pve-dmz", "ops@pve!manual", OPERATOR)
    target = guests(ops, "dvc-web-02")[0]
    wait_task(ops, target["node"], ops.nodes(target["node"]).qemu(target["vmid"]).status.stop.post())
    # an HA guest's stop is an 'hastop' task that ends at once; the HA manager stops it after
    # (never while it is locked): planned before that, the plan would be stale by the apply
    eventually(lambda: guests(ops, "dvc-web-02")[0]["status"] == "stopped", "the HA manager stopping dvc-web-02", timeout=20, interval=0.05)
    sim.faults.hold_lock("pve-dmz", target["vmid"], "backup", seconds=0.8)
    the_plan = plan(inv, clusters=DMZ)  # planned before the backup started: no request-time lock
    report = apply(inv, concurrency=1, plan=the_plan, show_progress=False)
    assert report.ok and [s.name for s in report.steps] == ["dvc-web-02"]
    assert guests(ops, "dvc-web-02")[0]["status"] == "running"


def test_guest_left_untagged_by_an_interrupted_create_is_adopted(sim, inv):
    sim.faults.http_error("PUT", r"/qemu/\d+/config$", "got timeout", status=500, count=1)
    with pytest.raises(ApplyError):
        apply(inv, concurrency=1, plan=plan(inv, clusters=DMZ), show_progress=False)
    again = plan(inv, clusters=DMZ)
    half_made = [a for a in again.actions if a.op == "update" and {"tags", "config"} <= {c.field for c in a.changes}]
    assert len(half_made) == 1 and not [a for a in again.actions if a.op == "conflict"]
    assert half_made[0].name not in {a.name for a in again.actions if a.op == "create"}
    converge_without_duplicates(sim, inv)


def test_task_that_outlives_its_timeout_is_reported(tmp_path, inv):
    with simulator(tmp_path, task_seconds=1.5):
        with pytest.raises(ApplyError) as failed:
            apply(inv, concurrency=6, plan=plan(inv, clusters=DMZ), task_timeout_s=0.3, show_progress=False)
        assert all("still running after" in d for d in failed.value.details[:-1])


def test_a_second_apply_on_the_same_cluster_is_refused(sim, inv):
    the_plan = plan(inv, clusters=DMZ)
    with exclusive(inv.env, "pve-dmz"):
        with pytest.raises(HatangError, match="another 'hatang cloud apply' is running on cluster pve-dmz"):
            apply(inv, plan=the_plan, show_progress=False)
    assert guests(token_client(sim, "pve-dmz", "auditor@pve!check", "PVEAuditor")) == []


def test_an_offline_node_gets_no_new_guest_and_the_plan_says_what_cannot_fit(sim, inv):
    sim.faults.set_offline("pve-dmz-03")
    blocked = plan(inv, clusters=DMZ)
    targets = {a.name: a.target for a in blocked.actions if a.op == "create"}
    assert "pve-dmz-03" not in targets.values() and len(targets) == 4  # two of each group of three
    assert sorted(p.split(" (")[0] for p in blocked.problems) == ["pve-dmz: cannot place dvc-web-03", "pve-dmz: cannot place portal-web-03"]


def test_simulator_restart_keeps_the_clusters(sim, inv):
    apply(inv, concurrency=3, plan=plan(inv, clusters=DMZ), show_progress=False)
    sim.stop()
    with Simulator(sim.directory, task_seconds=0.02):  # same directory: same state, token and endpoints file
        assert plan(inv, clusters=DMZ).empty


def test_a_plan_the_cluster_outran_is_refused(sim, inv):
    stale = plan(inv, clusters=DMZ)
    ops = token_client(sim, "pve-dmz", "ops@pve!manual", OPERATOR)
    upid = ops.nodes("pve-dmz-01").qemu(9000).clone.post(newid=100, name="dvc-web-01", full=1)
    wait_task(ops, "pve-dmz-01", upid)
    with pytest.raises(HatangError) as refused:
        apply(inv, plan=stale, show_progress=False)
    assert "changed since the plan was made" in refused.value.message
    assert "no longer planned: create dvc-web-01" in refused.value.details
    assert [g["name"] for g in guests(ops)] == ["dvc-web-01"]  # nothing applied


def test_ha_recovers_a_lost_nodes_guests_apart_and_hatang_accepts_where_they_landed(tmp_path, inv):
    with simulator(tmp_path, fence_seconds=0.3) as sim:
        core = ["pve-core"]
        apply(inv, concurrency=6, plan=plan(inv, clusters=core), show_progress=False)
        api = token_client(sim, "pve-core", "auditor@pve!check", "PVEAuditor")
        ha = {vm.name for vm in inv.vms() if vm.spec.ha}
        lost = {g["name"] for g in guests(api) if g["node"] == "pve-core-01"} & ha
        sim.faults.set_offline("pve-core-01")
        deadline = time.monotonic() + 10
        while any(g["node"] == "pve-core-01" for g in guests(api) if g["name"] in ha) and time.monotonic() < deadline:
            time.sleep(0.1)
        after = {g["name"]: g for g in guests(api)}
        assert lost and all(after[name]["node"] != "pve-core-01" and after[name]["status"] == "running" for name in lost)
        for rule in api.cluster.ha.rules.get():
            members = [g for g in after.values() if f"{'ct' if g['type'] == 'lxc' else 'vm'}:{g['vmid']}" in rule["resources"].split(",")]
            assert len({m["node"] for m in members}) == len(members), rule["rule"]
        moved = {i.name for i in drift(inv, clusters=core).items if i.field == "node"}
        assert moved == lost
        assert not [a for a in plan(inv, clusters=core).actions if a.op in ("create", "move")]


def test_a_guest_another_apply_made_after_the_plan_is_found_before_the_clone(sim, inv):
    """The other apply's guest has id 150; a clone now would get 100, below it, and the
    lower-id twin rule alone would keep both (ids freed by destroyed twins come back so)."""
    cplan = plan(inv, clusters=DMZ).clusters[0]
    action = next(a for a in cplan.changes if a.op == "create" and a.desired.kind == "qemu")
    template = cplan.view.templates()[action.desired.template]
    other = token_client(sim, "pve-dmz", "ops@pve!other-machine", OPERATOR)
    wait_task(other, template.node, other.nodes(template.node).qemu(template.vmid).clone.post(newid=150, name=action.name, full=1))
    made = Operations(Pve.open(inv, "pve-dmz"), cplan.view, task_timeout_s=20).run(action)
    assert made == {"vmid": 150, "note": f"another apply created {action.name} (vmid 150) at the same time: kept it, cloned nothing"}
    assert [g["vmid"] for g in guests(other, action.name)] == [150]


def test_two_applies_from_two_machines_leave_one_guest_per_name(tmp_path, inv):
    """The file lock guards one machine; two state directories stand for two machines.
    Each apply either converges (a guest the other made meanwhile is found before the
    clone, or as a twin after it: the lower id stays) or refuses a plan the cluster
    outran; never a duplicate. Ids freed by destroyed twins are given out again, so a
    later clone can get a lower id than a twin that already kept itself."""
    import json
    import os
    import subprocess
    import sys

    with simulator(tmp_path, task_seconds=0.3) as sim:  # clones slow enough for the two to overlap
        other = tmp_path / "state-2"
        other.mkdir()
        command = [sys.executable, "-m", "hatang.cli", "cloud", "apply", "--yes", "--json", "--cluster", "pve-dmz"]
        runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **extra})
                for extra in ({}, {"HATANG_STATE_DIR": str(other)})]
        for proc in runs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0 or "changed since the plan was made: nothing applied" in err, err
            if proc.returncode == 0:
                notes = [s["data"].get("note", "") for s in json.loads(out)["steps"]]
                assert all(n == "" or "at the same time: kept it, " in n for n in notes)
        names = Counter(g["name"] for g in guests(token_client(sim, "pve-dmz", "auditor@pve!check", "PVEAuditor")))
        assert max(names.values()) == 1, names
        converge_without_duplicates(sim, inv)
