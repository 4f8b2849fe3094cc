"""``--live``: the allocation read from a running cluster (the lab's Proxmox simulator,
held to the official API schema), through the cloud room's client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from hatang.cloud import client, schema
from hatang.cloud.capacity.live import live_allocation, volume
from hatang.cloud.capacity.model import allocation_from_vms
from hatang.inventory.load import load
from hatang.lab.pvesim.launch import Simulator


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    """A simulator with the inventory applied by ``hatang.cloud.apply``; every call hatang
    makes to it is checked against the PVE schema at the end."""
    from hatang.cloud.apply import apply

    work = tmp_path_factory.mktemp("live")
    key = work / "id_ed25519"
    key.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))
    with pytest.MonkeyPatch.context() as patch, Simulator(work / "pvesim", task_seconds=0.01) as sim:
        for name, value in {"HATANG_STATE_DIR": str(work / "state"), "HATANG_SECRET_SERVER_ADMIN_USERNAME": "htadmin",
                            "HATANG_SECRET_SERVER_ADMIN_SSH_PRIVATE_KEY_FILE": str(key), **sim.environment()}.items():
            patch.setenv(name, value)
        with client.recording() as calls:
            assert apply(load(None, "lab"), concurrency=8, show_progress=False).ok
            yield sim
        contract = schema.load()
        bad = [f"{c.verb} {c.path}: {contract.check(c.verb, c.path, c.params)}" for c in calls.calls if contract.check(c.verb, c.path, c.params)]
        assert not bad, bad


def test_live_allocation_matches_the_inventory_once_applied(applied: Simulator) -> None:
    inv = load(None, "lab")
    for cluster in inv.cluster_by_name:
        with client.recording() as calls:
            live = live_allocation(inv, cluster)
        declared = allocation_from_vms(vm for vm in inv.vms() if vm.cluster == cluster)
        assert (live.vms, live.ha_vms, live.unknown) == (declared.vms, declared.ha_vms, ())
        assert dict(live.demand.vcpu) == dict(declared.demand.vcpu)
        assert live.demand.ram_gib == declared.demand.ram_gib
        assert dict(live.demand.storage_gb) == pytest.approx(dict(declared.demand.storage_gb))
        # reads only: the token's permissions, the resources, HA and backup-job lists, then one config per guest
        assert {c.verb for c in calls.calls} == {"GET"} and len(calls.calls) == 5 + live.vms


def test_a_vm_made_by_hand_counts(applied: Simulator, hatang) -> None:
    """A colleague's VM outside the inventory: its RAM and disk count, as standard class."""
    from proxmoxer import ProxmoxAPI

    from hatang.lab.pvesim.access import Access

    end = applied.endpoints["pve-dmz"]
    secret = Access(applied.directory).add_token("ops@pve!hand", "PVEAdmin")
    api = ProxmoxAPI(end["host"], port=end["port"], user="ops@pve", token_name="hand", token_value=secret, verify_ssl=end["ca"])
    node = api.nodes.get()[0]["node"]
    api.nodes(node).qemu.post(vmid=990, name="thu-nghiem", cores=6, memory=4096, scsi0="ceph-dmz:20")
    inv = load(None, "lab")
    before = allocation_from_vms(vm for vm in inv.vms() if vm.cluster == "pve-dmz")
    run = hatang("capacity", "report", "--live", "--cluster", "pve-dmz", "--no-drivers", "--json")
    assert run.code == 0, run.err
    data = json.loads(run.out)["clusters"][0]
    assert data["allocated"]["ram_gib"] == before.demand.ram_gib
    assert data["live"]["ram_gib"] == before.demand.ram_gib + 4
    assert data["live"]["vcpu"]["standard"] == before.demand.vcpu["standard"] + 6
    assert data["live"]["storage_gb"]["ceph-dmz"] == pytest.approx(before.demand.storage_gb["ceph-dmz"] + 20)
    assert data["live"]["not_in_inventory"] == ["thu-nghiem"]
    assert any("thu-nghiem" in note for note in data["notes"])


def test_volume_parsing() -> None:
    assert volume("scsi0", "ceph-vm:vm-100-disk-0,size=100G") == ("ceph-vm", 100)
    assert volume("rootfs", "ceph-vm:subvol-101-disk-0,size=512M") == ("ceph-vm", 0.5)
    assert volume("scsi1", "backup-nfs:100/vm-100-disk-1.qcow2,size=2T") == ("backup-nfs", 2048)
    assert volume("ide2", "ceph-vm:cloudinit,media=cdrom") is None
    assert volume("ide2", "none,media=cdrom") is None
    assert volume("net0", "virtio=AA:BB,bridge=vmbr0") is None


def test_live_without_a_reachable_cluster(tmp_path: Path, hatang, monkeypatch) -> None:
    monkeypatch.setenv("HATANG_PVE_ENDPOINTS", str(tmp_path / "missing.json"))
    run = hatang("capacity", "report", "--live", "--json")
    assert run.code != 0 and run.out == ""
    assert "missing.json" in run.err


def test_live_report_for_people(applied: Simulator, hatang, tmp_path: Path) -> None:
    run = hatang("capacity", "report", "--live", "--no-drivers", "-o", str(tmp_path / "r"))
    assert run.code == 0, run.err
    assert "When each resource runs out" in run.out
    md = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert "| allocation | live cluster (Proxmox API) |" in md and "|  | inventory | live cluster |" in md
