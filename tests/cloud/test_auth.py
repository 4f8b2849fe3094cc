"""Tokens without the privileges are refused with PVE's message; tickets need CSRF tokens."""

from __future__ import annotations

import pytest
import requests

from hatang.cloud.apply import apply
from hatang.cloud.errors import PveError
from hatang.cloud.plan import plan
from hatang.errors import HatangError
from hatang.lab.pvesim.access import Access

DMZ = ["pve-dmz"]


def use_token(monkeypatch, sim, tokenid: str, role: str) -> None:
    monkeypatch.setenv("HATANG_SECRET_PVE_API_TOKEN_ID", tokenid)
    monkeypatch.setenv("HATANG_SECRET_PVE_API_SECRET", Access(sim.directory).add_token(tokenid, role))


def test_auditor_token_plans_but_apply_is_refused_with_the_missing_privilege(sim, inv, monkeypatch):
    use_token(monkeypatch, sim, "auditor@pve!ro", "PVEAuditor")
    the_plan = plan(inv, clusters=DMZ)
    assert len(the_plan.of_cluster("pve-dmz").of("create")) == 6
    with pytest.raises(Exception) as refused:
        apply(inv, concurrency=1, plan=the_plan, show_progress=False)
    assert "403 Permission check failed (/vms/9000, VM.Clone)" in " ".join(refused.value.details)
    assert "lacks this privilege" in " ".join(refused.value.details)


@pytest.mark.parametrize("role", ["NoAccess", "PVESysAdmin"])
def test_token_that_cannot_see_the_guests_is_refused_before_planning(sim, inv, monkeypatch, role):
    """PVESysAdmin audits nodes but not guests: /cluster/resources would list none of
    them, and a plan would create every one again."""
    use_token(monkeypatch, sim, "ops@pve!limited", role)
    with pytest.raises(HatangError) as refused:
        plan(inv, clusters=DMZ)
    assert refused.value.message.startswith("pve-dmz: the 'pve-api' token cannot see every guest (no VM.Audit on /vms)")


def test_wrong_secret_is_a_401_naming_the_credential(sim, inv, monkeypatch):
    monkeypatch.setenv("HATANG_SECRET_PVE_API_SECRET", "not-the-secret")
    with pytest.raises(PveError) as refused:
        plan(inv, clusters=DMZ)
    assert refused.value.status == 401 and "'pve-api'" in refused.value.message


def test_ticket_login_and_csrf(sim):
    end = sim.endpoints["pve-dmz"]
    base = f"https://{end['host']}:{end['port']}/api2/json"
    root = sim.secrets()["pve-root"]
    bad = requests.post(f"{base}/access/ticket", data={"username": "root@pam", "password": "nope"}, verify=end["ca"])
    assert bad.status_code == 401 and bad.json() == {"data": None}
    login = requests.post(f"{base}/access/ticket", data={"username": "root@pam", "password": root["password"]}, verify=end["ca"]).json()["data"]
    cookies = {"PVEAuthCookie": login["ticket"]}
    assert requests.get(f"{base}/cluster/nextid", cookies=cookies, verify=end["ca"]).json()["data"] == 100
    ha = {"sid": "vm:9000"}
    no_csrf = requests.post(f"{base}/cluster/ha/resources", data=ha, cookies=cookies, verify=end["ca"])
    assert no_csrf.status_code == 403 and "invalid csrf token" in no_csrf.reason
    with_csrf = requests.post(f"{base}/cluster/ha/resources", data=ha, cookies=cookies, verify=end["ca"],
                              headers={"CSRFPreventionToken": login["CSRFPreventionToken"]})
    assert with_csrf.status_code == 200, with_csrf.reason
    assert requests.get(f"{base}/cluster/resources", verify=end["ca"]).status_code == 401


def test_each_privilege_is_checked_as_pve_checks_it(sim):
    from proxmoxer import ResourceException

    from .conftest import token_client, wait_stopped

    user = token_client(sim, "pve-core", "helpdesk@pve!vmuser", "PVEVMUser")
    admin = token_client(sim, "pve-core", "ops@pve!vmadmin", "PVEVMAdmin")
    upid = admin.nodes("pve-core-01").qemu(9000).clone.post(newid=300, name="probe", full=1)
    wait_stopped(admin.nodes("pve-core-01"), upid)
    refusals = [
        (lambda: user.nodes("pve-core-01").qemu(300).config.put(cores=2), "(/vms/300, VM.Config.CPU)"),
        (lambda: user.nodes("pve-core-01").qemu(300).delete(), "(/vms/300, VM.Allocate)"),
        (lambda: admin.nodes("pve-core-01").qemu(9000).clone.post(newid=301, storage="ceph-vm"), "(/storage/ceph-vm, Datastore.AllocateSpace)"),
        (lambda: admin.cluster.ha.resources.post(sid="vm:300"), "(/, Sys.Console)"),
    ]
    for call, message in refusals:
        with pytest.raises(ResourceException) as refused:
            call()
        assert refused.value.status_code == 403 and "Permission check failed " + message in refused.value.content
    assert user.nodes("pve-core-01").qemu(300).status.start.post().startswith("UPID:pve-core-01:")  # VM.PowerMgmt
