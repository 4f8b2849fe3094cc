"""``hatang cloud restore-test`` (issue 27): the newest backup of a guest of each class is
restored to a fresh, network-less VM, booted, checked (the role's health check inside it,
through the guest agent) and destroyed, with its RTO in the audit log; the production
guest is only read; faults end clearly with nothing left over.

The simulator's VMs run commands only when a backup copied a lab host's files
(tests/cloud/test_guest_agent.py): here a lab host's directory stands beside it, with a
stand-in ``nginx`` that accepts any configuration; the lab test runs Debian's."""

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
from .test_guest_agent import make_lab_host

WEB = "qlvb-app-01"
SITE = "srv/www/qlvb/index.html"
STAND_IN = {"usr/sbin/nginx": ("#!/bin/sh\nexit 0\n", 0o755), SITE: ("<h1>qlvb</h1>\n", 0o644)}


@pytest.fixture
def web_host(sim):
    """The lab host of qlvb-app-01, deployed (its site and an nginx), beside the simulator."""
    return make_lab_host(sim.directory.parent, WEB, STAND_IN)


@pytest.fixture
def backed_up(sim, inv, web_host):
    """pve-core applied and every guest backed up by a forced run on each node."""
    apply(inv, concurrency=8, plan=plan(inv, clusters=["pve-core"]), show_progress=False)
    admin = token_client(sim, "pve-core", "root@pam!admin", "Administrator")
    for node in sorted({g["node"] for g in guests(admin)}):
        wait_task(admin, node, admin.nodes(node).vzdump.post(all=1, storage="backup-nfs", mode="snapshot"))
    return admin


def production(admin) -> dict[int, tuple]:
    return {g["vmid"]: (g["name"], g["node"], g["status"], g["maxcpu"], g["maxmem"], g.get("tags"))
            for g in guests(admin)}


@pytest.mark.parametrize("service, guest, role_check", [
    ("qlvb", WEB, "passed: web-portal (2 checks in the copy)"),  # critical
    ("mail", None, "none: "),  # standard: no role with a health check
    ("sao-luu", None, "failed: backup-server: repository and key: not run: QEMU guest agent is not running"),  # batch: no lab host
    ("ha-tang-chung", None, "none: "),  # containers, no role
])
def test_restore_test_restores_checks_and_cleans_up_one_guest_of_each_class(backed_up, inv, service, guest, role_check):
    before = production(backed_up)
    done = run("restore-test", service, "--json", "--agent-wait", "0.3", *(("--guest", guest) if guest else ()))
    assert done.returncode == (1 if role_check.startswith("failed") else 0), done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] == (done.returncode == 0) and result["cleaned_up"]
    assert result["role_check"].startswith(role_check)
    checks = {"restored": True, "isolated": True, "running": True, "same size as production": True}
    if role_check.startswith(("passed", "failed")):
        checks["role check"] = role_check.startswith("passed")
    assert result["checks"] == checks
    assert result["error"] == ("" if result["ok"] else f"restore-test {service}: the role check failed in the copy: {result['role_check'][8:]}")
    assert result["test_vmid"] not in before and result["rto_s"] > 0
    assert result["archive"].startswith(f"backup-nfs:backup/vzdump-") and f"-{result['vmid']}-" in result["archive"]
    assert production(backed_up) == before  # the copy is gone, the production guests as they were
    record = [r for r in audit.read("cloud") if r["action"] == "restore-test"][-1]
    assert record["service"] == service and record["ok"] == result["ok"] and record["rto_s"] == result["rto_s"]
    assert record["role_commands"] == result["role_commands"]
    assert plan(inv, clusters=["pve-core"]).empty


def test_the_role_checks_run_in_the_copy_and_a_copy_without_the_site_fails_them(sim, inv, web_host):
    apply(inv, concurrency=8, plan=plan(inv, clusters=["pve-core"]), show_progress=False)
    admin = token_client(sim, "pve-core", "root@pam!admin", "Administrator")
    node = next(g["node"] for g in guests(admin, WEB))
    (web_host / "upper" / SITE).unlink()  # a backup of the server without its site
    wait_task(admin, node, admin.nodes(node).vzdump.post(all=1, storage="backup-nfs"))
    (web_host / "upper" / SITE).write_text("<h1>back</h1>\n")  # production has it again: the copy has the backup's
    result = restore_test(inv, "qlvb", guest=WEB, agent_wait_s=0)
    assert not result.ok and result.cleaned_up and result.checks["role check"] is False
    nginx, site = result.role_commands
    assert (nginx["check"], nginx["command"], nginx["exitcode"], nginx["passed"]) == ("nginx configuration", ["/bin/sh", "-c", "nginx -t -q"], 0, True)
    assert (site["check"], site["exitcode"], site["out"]) == ("site present", 1, f"missing /{SITE}\n")
    assert result.role_check == f"failed: web-portal: site present: exit 1: missing /{SITE}"
    assert not [g for g in guests(admin) if g["name"].startswith("rt-")]


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
