"""Tokens without the privileges are refused with PVE's message; tickets need CSRF tokens."""

from __future__ import annotations

import pytest
import requests

from hatang.cloud.apply import apply
from hatang.cloud.errors import PveError
from hatang.cloud.plan import plan
from hatang.errors import HatangError
from hatang.lab.pvesim.access import Access
from hatang.lab.pvesim.daemon import HATANG_GRANTS

DMZ = ["pve-dmz"]


def use_token(monkeypatch, sim, tokenid: str, role: str | list[str]) -> None:
    monkeypatch.setenv("HATANG_SECRET_PVE_API_TOKEN_ID", tokenid)
    monkeypatch.setenv("HATANG_SECRET_PVE_API_SECRET", Access(sim.directory).add_token(tokenid, role))


def test_auditor_token_plans_but_apply_is_refused_with_the_missing_privilege(sim, inv, monkeypatch):
    use_token(monkeypatch, sim, "auditor@pve!ro", "PVEAuditor")
    the_plan = plan(inv, clusters=DMZ)
    assert len(the_plan.of_cluster("pve-dmz").of("create")) == 6
    with pytest.raises(HatangError) as refused:
        apply(inv, concurrency=1, plan=the_plan, show_progress=False)
    assert "lacks 14 privilege(s) apply needs; nothing was changed" in refused.value.message
    assert "VM.Clone on /vms: clone the template VM" in refused.value.details


def test_the_roles_once_recommended_are_refused_before_apply_naming_what_is_missing(sim, inv, monkeypatch):
    """P7: PVEVMAdmin + PVEDatastoreUser cannot even read the HA resources (Sys.Audit), and
    apply needs Sys.Console on / (HA) and SDN.Use on the bridge (clone, NICs), as on real
    PVE: the plan and the apply say so before anything changes."""
    use_token(monkeypatch, sim, "ops@pve!old", ["PVEVMAdmin", "PVEDatastoreUser"])
    with pytest.raises(HatangError) as unread:
        plan(inv, clusters=DMZ)
    assert unread.value.details[0].startswith("Sys.Audit on /: ")
    use_token(monkeypatch, sim, "ops@pve!old", ["PVEVMAdmin", "PVEDatastoreUser", "PVEAuditor"])
    with pytest.raises(HatangError) as refused:
        apply(inv, concurrency=1, plan=plan(inv, clusters=DMZ), show_progress=False)
    lacking = [d.split(":")[0] for d in refused.value.details[:-1]]
    assert lacking == ["Sys.Console on /", "SDN.Use on /sdn/zones/localnetwork/vmbr0", "Sys.Modify on /"]
    assert len(plan(inv, clusters=DMZ).of_cluster("pve-dmz").of("create")) == 6  # nothing was created
    use_token(monkeypatch, sim, "ops@pve!new", HATANG_GRANTS)  # what docs/cloud.md recommends
    assert apply(inv, concurrency=3, plan=plan(inv, clusters=DMZ), show_progress=False).ok


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

    from .conftest import OPERATOR, token_client, wait_task

    user = token_client(sim, "pve-core", "helpdesk@pve!vmuser", "PVEVMUser")
    admin = token_client(sim, "pve-core", "ops@pve!vmadmin", OPERATOR)
    upid = admin.nodes("pve-core-01").qemu(9000).clone.post(newid=300, name="probe", full=1)
    wait_task(admin, "pve-core-01", upid)
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
