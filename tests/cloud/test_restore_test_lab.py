"""restore-test's role check on the lab (issue 27): the lab's Proxmox simulator backs up the
guest named like a deployed lab host (its files), restores it to a network-less copy and
runs the web portal's health check in it through the guest agent: Debian's nginx reads
the deployed configuration. The same check passes over SSH on the host (``hatang deploy
check``). A backup taken while the site's page was missing fails the check in the copy,
with the production guest untouched and the copy destroyed. The guests are destroyed
after, so the session's other lab tests find the cluster as the lab made it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hatang.cloud.apply import apply
from hatang.cloud.destroy import destroy
from hatang.cloud.plan import plan
from hatang.cloud.restore_test import restore_test
from hatang.deploy import runner
from hatang.deploy.health import check_hosts
from hatang.deploy.login import login
from hatang.deploy.targets import select
from hatang.inventory import load
from hatang.lab import hosts as lab_hosts

from .conftest import directory_client, guests, wait_task

pytestmark = pytest.mark.lab
CLUSTER, SERVICE, WEB, BACKUP = "pve-dmz", "cong-ttdt", "portal-web-01", "backup"
PAGE = f"/srv/www/{SERVICE}/index.html"
HATANG = [sys.executable, "-m", "hatang.cli"]


def ssh(inv, command: str) -> str:
    host = next(h for h in inv.linux_hosts() if h.name == WEB)
    client = login("lab").connect(str(host.address.ip))
    try:
        _, stdout, _ = client.exec_command(command, timeout=30)
        return stdout.read().decode()
    finally:
        client.close()


def production(admin) -> dict[int, tuple]:
    return {g["vmid"]: (g["name"], g["node"], g["status"], g.get("tags")) for g in guests(admin)}


@pytest.fixture(scope="module")
def cloud(lab_small):
    """The web portal deployed on its lab host (after the backup server it sends to), and
    pve-dmz applied in the lab's simulator; its guests destroyed and the hosts restarted
    fresh after."""
    inv = load(None, "lab")
    for role, host in (("backup-server", BACKUP), ("web-portal", WEB)):
        deployed = runner.run(inv, role, limit=[host], show_progress=False).results.by_host[host]
        assert deployed.ok, deployed.error
        assert [c["passed"] for c in deployed.data["health"]] == [True] * len(deployed.data["health"])  # verify ran them
    admin = directory_client(lab_small.path("pvesim"), CLUSTER, "root@pam!restoretest", "Administrator")
    assert not guests(admin), f"{CLUSTER} of the lab already has guests: this test makes and destroys its own"
    try:
        assert apply(inv, concurrency=4, plan=plan(inv, clusters=[CLUSTER]), show_progress=False).ok
        yield inv, admin
    finally:
        for name in sorted({g["name"] for g in guests(admin)}):
            destroy(inv, name, confirm=lambda question: True)
        lab_hosts.down(lab_small)  # the hosts fresh again (undeployed), as the deploy room's lab tests expect them
        lab_hosts.up(lab_small)


def back_up(admin) -> None:
    node = next(g["node"] for g in guests(admin, WEB))
    assert wait_task(admin, node, admin.nodes(node).vzdump.post(vmid=str(next(g["vmid"] for g in guests(admin, WEB))),
                                                                 storage="backup-nfs"), timeout_s=120)["exitstatus"] == "OK"


def test_the_role_check_passes_over_ssh_and_in_the_restored_copy(cloud):
    inv, admin = cloud
    checked = subprocess.run([*HATANG, "deploy", "check", "--limit", WEB, "--json"], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert [(c["check"], c["passed"]) for c in json.loads(checked.stdout)["hosts"][0]["data"]["health"]] == \
        [("nginx configuration", True), ("site present", True)]
    back_up(admin)
    before = production(admin)
    done = subprocess.run([*HATANG, "cloud", "restore-test", SERVICE, "--guest", WEB, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] and result["cleaned_up"] and result["checks"]["role check"] is True
    assert result["role_check"] == "passed: web-portal (2 checks in the copy)"
    assert [(c["command"], c["exitcode"]) for c in result["role_commands"]] == [
        (["/bin/sh", "-c", "nginx -t -q"], 0), (["/bin/sh", "-c", f"test -s {PAGE} || {{ echo \"missing {PAGE}\"; exit 1; }}"], 0)]
    assert production(admin) == before


def test_a_backup_without_the_site_fails_the_check_in_the_copy_and_over_ssh(cloud):
    inv, admin = cloud
    page = ssh(inv, f"cat {PAGE}")
    assert page
    ssh(inv, f"mv {PAGE} {PAGE}.away")
    try:
        over_ssh = check_hosts(select(inv, [WEB]), login("lab"), show_progress=False).by_host[WEB]
        assert not over_ssh.ok and over_ssh.error == f"{WEB}: web-portal: site present: exit 1: missing {PAGE}"
        back_up(admin)
    finally:
        ssh(inv, f"mv {PAGE}.away {PAGE}")
    before = production(admin)
    result = restore_test(inv, SERVICE, guest=WEB)
    assert not result.ok and result.cleaned_up and result.checks["role check"] is False
    assert result.role_check == f"failed: web-portal: site present: exit 1: missing {PAGE}"
    assert result.error == f"restore-test {SERVICE}: the role check failed in the copy: web-portal: site present: exit 1: missing {PAGE}"
    assert production(admin) == before and not [g for g in guests(admin) if g["name"].startswith("rt-")]
    assert check_hosts(select(inv, [WEB]), login("lab"), show_progress=False).by_host[WEB].ok  # the host has its page back
