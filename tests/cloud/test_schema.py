"""The official PVE schema is the contract for the simulator's routes and answers.

(Every call hatang makes is checked against it too: the ``sim`` fixture does that at the
teardown of every test that talks to a simulator.)
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
import requests
from proxmoxer.tools import Tasks

from hatang.cloud import schema
from hatang.lab.pvesim.routes import served

from waiting import eventually

from .conftest import guests, simulator, token_client, wait_task

OFFICIAL = Path("/work/shared/proxmox/pve-api-schema.json")


def test_every_route_the_simulator_serves_is_declared():
    contract = schema.load()
    declared = {(m.verb, m.path) for m in contract.methods}
    routes = [*served(), ("POST", "/access/ticket")]  # the login is answered by the server itself
    assert [r for r in routes if r not in declared] == []
    needed = {("GET", "/cluster/resources"), ("GET", "/cluster/nextid"), ("POST", "/nodes/{node}/qemu/{vmid}/clone"),
              ("POST", "/nodes/{node}/lxc"), ("GET", "/nodes/{node}/tasks/{upid}/status"), ("POST", "/cluster/ha/rules"),
              ("POST", "/nodes/{node}/qemu/{vmid}/migrate"), ("DELETE", "/nodes/{node}/lxc/{vmid}")}
    assert needed <= set(routes)


@pytest.mark.skipif(not OFFICIAL.exists(), reason="the shared official copy is not on this machine")
def test_the_vendored_schema_is_the_official_one():
    vendored = json.loads(gzip.decompress(schema.VENDORED.read_bytes()))
    assert vendored == json.loads(OFFICIAL.read_text())


def test_check_reports_what_pve_reports():
    contract = schema.load()
    errors = contract.check("POST", "/nodes/pve1/qemu/100/clone", {"bogus": "1", "full": "maybe"})
    assert errors == {
        "bogus": schema.UNDECLARED,
        "full": "type check ('boolean') failed - got 'maybe'",
        "newid": schema.MISSING,
    }
    assert contract.check("PUT", "/nodes/pve1/qemu/100/config", {"net0": "virtio,bridge=vmbr0", "cores": "4"}) == {}
    assert "enumeration" in contract.check("POST", "/cluster/ha/rules", {"rule": "r", "type": "x", "resources": "vm:1"})["type"]
    assert "minimum" in contract.check("GET", "/cluster/nextid", {"vmid": "5"})["vmid"]
    with pytest.raises(schema.RouteError):
        contract.match("GET", "/nodes/pve1/qemu/100/nonsense")
    with pytest.raises(schema.RouteError):
        contract.match("PATCH", "/cluster/resources")


def test_simulator_answers_in_pve_shapes(tmp_path):
    with simulator(tmp_path, task_seconds=1.0) as sim:  # tasks slow enough to see the clone lock
        _answers_in_pve_shapes(sim)


def _answers_in_pve_shapes(sim):
    end = sim.endpoints["pve-core"]
    base = f"https://{end['host']}:{end['port']}/api2/json"
    token = sim.secrets()["pve-api"]
    auth = {"Authorization": f"PVEAPIToken={token['token_id']}={token['secret']}"}
    bad = requests.post(f"{base}/nodes/pve-core-01/qemu/9000/clone", data={"name": "x", "color": "red"}, headers=auth, verify=end["ca"])
    assert (bad.status_code, bad.reason) == (400, "Parameter verification failed.")
    assert bad.json() == {"data": None, "errors": {"newid": schema.MISSING, "color": schema.UNDECLARED}}
    missing = requests.get(f"{base}/nodes/pve-core-01/nonsense", headers=auth, verify=end["ca"])
    assert missing.status_code == 501
    gone = requests.get(f"{base}/nodes/pve-core-01/qemu/4242/config", headers=auth, verify=end["ca"])
    assert gone.status_code == 500 and "4242.conf' does not exist" in gone.reason and gone.json() == {"data": None}
    upid = requests.post(f"{base}/nodes/pve-core-01/qemu/9000/clone", data={"newid": 120, "name": "t"}, headers=auth, verify=end["ca"]).json()["data"]
    assert re.fullmatch(r"UPID:pve-core-01:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmclone:9000:hatang@pve!hatang:", upid)
    assert Tasks.decode_upid(upid)["type"] == "qmclone"
    # qmclone writes the new guest's placeholder inside its worker, a moment after answering
    eventually(lambda: requests.get(f"{base}/nodes/pve-core-01/qemu/120/config", headers=auth, verify=end["ca"]).ok, "placeholder", timeout=30, interval=0.05)
    locked = requests.put(f"{base}/nodes/pve-core-01/qemu/120/config", data={"cores": 2}, headers=auth, verify=end["ca"])
    assert (locked.status_code, locked.reason) == (500, "VM is locked (clone)")
    status = requests.get(f"{base}/nodes/pve-core-01/tasks/{upid}/status", headers=auth, verify=end["ca"]).json()["data"]
    assert status["status"] in ("running", "stopped") and status["type"] == "qmclone"


def test_qemu_create_allocates_disks_gives_macs_and_holds_the_create_lock(tmp_path):
    with simulator(tmp_path, task_seconds=0.5) as sim:
        api = token_client(sim, "pve-core", "ops@pve!admin", "PVEAdmin")
        upid = api.nodes("pve-core-02").qemu.post(vmid=400, name="scratch", cores=2, memory="2048",
                                                  scsi0="ceph-vm:32", net0="virtio,bridge=vmbr0,tag=110", tags="lab")
        assert guests(api, "scratch")[0]["lock"] == "create"
        wait_task(api, "pve-core-02", upid)
        config = api.nodes("pve-core-02").qemu(400).config.get()
        assert config["scsi0"] == "ceph-vm:vm-400-disk-0,size=32G" and "lock" not in config
        assert re.fullmatch(r"virtio=BC:24:11(:[0-9A-F]{2}){3},bridge=vmbr0,tag=110", config["net0"])
        with pytest.raises(Exception, match="VM 400 already exists on node 'pve-core-02'"):
            api.nodes("pve-core-01").qemu.post(vmid=400, name="again")
