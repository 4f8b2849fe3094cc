"""``hatang cloud restore-test`` (issue 27): the newest backup of a guest of each class is
restored to a fresh, network-less VM, booted, checked and destroyed, with its RTO in the
audit log; the production guest is only read; faults end clearly with nothing left over."""

from __future__ import annotations

import json

import pytest

from hatang import audit
from hatang.cloud.apply import apply
from hatang.cloud.plan import plan
from hatang.cloud.restore_test import restore_test
from hatang.errors import HatangError

from .conftest import guests, token_client, wait_task
from .test_cli import run


@pytest.fixture
def backed_up(sim, inv):
    """pve-core applied and every guest backed up by a forced run on each node."""
    apply(inv, concurrency=8, plan=plan(inv, clusters=["pve-core"]), show_progress=False)
    admin = token_client(sim, "pve-core", "root@pam!admin", "Administrator")
    for node in sorted({g["node"] for g in guests(admin)}):
        wait_task(admin, node, admin.nodes(node).vzdump.post(all=1, storage="backup-nfs", mode="snapshot"))
    return admin


def production(admin) -> dict[int, tuple]:
    return {g["vmid"]: (g["name"], g["node"], g["status"], g["maxcpu"], g["maxmem"], g.get("tags"))
            for g in guests(admin)}


@pytest.mark.parametrize("service", ["qlvb", "mail", "sao-luu", "ha-tang-chung"])  # critical, standard, batch, containers
def test_restore_test_restores_checks_and_cleans_up_one_guest_of_each_class(backed_up, inv, service):
    before = production(backed_up)
    done = run("restore-test", service, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] and result["cleaned_up"] and result["error"] == ""
    assert result["checks"] == {"restored": True, "isolated": True, "running": True, "same size as production": True}
    assert result["test_vmid"] not in before and result["rto_s"] > 0
    assert result["archive"].startswith(f"backup-nfs:backup/vzdump-") and f"-{result['vmid']}-" in result["archive"]
    assert production(backed_up) == before  # the copy is gone, the production guests as they were
    record = [r for r in audit.read("cloud") if r["action"] == "restore-test"][-1]
    assert record["service"] == service and record["ok"] and record["rto_s"] == result["rto_s"]
    assert plan(inv, clusters=["pve-core"]).empty


def test_a_chosen_guest_is_restored_on_another_node_than_its_own(backed_up, inv):
    result = restore_test(inv, "lgsp", guest="lgsp-esb-02")
    assert result.ok and result.guest == "lgsp-esb-02" and result.node != next(
        g["node"] for g in guests(backed_up) if g["name"] == "lgsp-esb-02")  # by default another node than the guest's
    assert not [g for g in guests(backed_up) if g["name"].startswith("rt-")]


def test_a_restore_to_a_node_without_the_backup_storage_fails_clearly_and_creates_nothing(backed_up, inv):
    nodes = sorted({g["node"] for g in guests(backed_up)})
    backed_up.storage("backup-nfs").put(nodes=",".join(nodes[:-1]))  # not mounted on the last node
    before = production(backed_up)
    failed = run("restore-test", "qlvb", "--node", nodes[-1])
    assert failed.returncode == 1
    assert f"storage 'backup-nfs' is not available on node '{nodes[-1]}'" in failed.stdout + failed.stderr
    assert production(backed_up) == before
    record = [r for r in audit.read("cloud") if r["action"] == "restore-test"][-1]
    assert not record["ok"] and record["test_vmid"] is None and record["cleaned_up"]


def test_a_failed_restore_task_leaves_nothing_and_says_why(backed_up, inv, sim):
    sim.faults.fail_task("qmrestore", "command 'vma extract' failed: got signal 5", count=1)
    before = production(backed_up)
    result = restore_test(inv, "qlvb")
    assert not result.ok and result.cleaned_up and "vma extract" in result.error
    assert result.checks == {} and production(backed_up) == before


def test_no_backup_yet_and_unknown_names_are_clear_errors(sim, inv):
    apply(inv, concurrency=8, plan=plan(inv, clusters=["pve-core"]), show_progress=False)
    with pytest.raises(HatangError, match="no backup of any guest of qlvb on pve-core: run its backup job first"):
        restore_test(inv, "qlvb")
    with pytest.raises(HatangError, match="no service 'nope'"):
        restore_test(inv, "nope")
    with pytest.raises(HatangError, match="has no guest 'db-pg-01'"):
        restore_test(inv, "qlvb", guest="db-pg-01")
