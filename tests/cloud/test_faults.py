"""Faults end with a clear message, and a re-run converges without duplicating a guest."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from hatang.cloud.apply import ApplyError, apply, exclusive
from hatang.errors import HatangError
from hatang.cloud.plan import plan

from .conftest import guests, simulator, token_client

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
    apply(inv, concurrency=3, plan=plan(inv, clusters=DMZ), show_progress=False)
    ops = token_client(sim, "pve-dmz", "ops@pve!manual", "PVEVMAdmin")
    target = guests(ops, "dvc-web-02")[0]
    ops.nodes(target["node"]).qemu(target["vmid"]).config.put(cores=2)
    sim.faults.hold_lock("pve-dmz", target["vmid"], "backup", seconds=0.8)
    report = apply(inv, concurrency=1, plan=plan(inv, clusters=DMZ), show_progress=False)
    assert report.ok and [s.name for s in report.steps] == ["dvc-web-02"]
    assert guests(ops, "dvc-web-02")[0]["maxcpu"] == 4


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
