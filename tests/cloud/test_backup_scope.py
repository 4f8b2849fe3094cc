"""A disk on a backup store is never backed up into it (issue 27): PVE's per-disk
``backup`` flag in the desired configs, honoured by the simulator's vzdump and restore,
changed on an existing guest without a new volume, and the same rule in the capacity
planner's backup growth."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hatang.cloud.apply import apply
from hatang.cloud.backup_scope import backup_targets
from hatang.cloud.capacity.backup_demand import guest_backups
from hatang.cloud.capacity.model import Demand
from hatang.cloud.desired import DesiredVm, Nic, desired_state
from hatang.cloud.drift import drift
from hatang.cloud.operations import hidden_params, keep_volume
from hatang.cloud.plan import plan
from hatang.inventory import model as m

from .conftest import guests, token_client, wait_task


def test_the_backup_servers_store_disk_is_left_out_and_other_disks_are_in(hatang_tmp_env, inv):
    wanted = {vm.name: vm for vms in desired_state(inv).values() for vm in vms}
    assert wanted["backup"].hidden_config()["scsi1"] == "backup-nfs:60000,backup=0"
    flagged = {(vm.name, key) for vm in wanted.values() for key, value in vm.hidden_config().items() if "backup=" in value}
    assert flagged == {("backup", "scsi1")}  # no other guest has a disk on a backup store (or a container mount point)


def test_a_containers_mount_points_need_backup_1_unless_on_a_backup_store():
    ct = DesiredVm("ct", "svc", "standard", "c", "lxc", "debian-12-standard", 1, 512,
                   (("ceph-vm", 8), ("ceph-vm", 20), ("backup-nfs", 50)), (Nic(140),), False, None, "u", "k",
                   backup_stores=frozenset({"backup-nfs"}))
    config = ct.hidden_config()
    assert (config["mp0"], config["mp1"]) == ("ceph-vm:20,mp=/srv/data0,backup=1", "backup-nfs:50,mp=/srv/data1")
    assert replace(ct, backup_stores=frozenset()).fingerprint != ct.fingerprint


def test_an_existing_disk_keeps_its_volume_and_size_and_gets_the_flag():
    current = {"scsi1": "backup-nfs:vm-130-disk-1,size=60000G,iothread=1", "mp0": "ceph-vm:subvol-1-disk-1,mp=/srv/data0,size=8G"}
    assert keep_volume("backup-nfs:60000,backup=0", current["scsi1"]) == "backup-nfs:vm-130-disk-1,backup=0,size=60000G,iothread=1"
    assert keep_volume("backup-nfs:60000", "backup-nfs:vm-130-disk-1,backup=0,size=60000G") == "backup-nfs:vm-130-disk-1,size=60000G"
    assert keep_volume("backup-nfs:60000,backup=0", "backup-nfs:vm-130-disk-1,size=60000G,backup=0") is None
    assert keep_volume("ceph-vm:8,mp=/srv/data0,backup=1", current["mp0"]) == "ceph-vm:subvol-1-disk-1,mp=/srv/data0,backup=1,size=8G"
    vm = DesiredVm("b", "svc", "standard", "c", "qemu", "tpl", 2, 2048, (("ceph-vm", 10), ("backup-nfs", 60000)), (Nic(140),),
                   False, None, "u", "k", backup_stores=frozenset({"backup-nfs"}))
    assert hidden_params(vm, {"scsi1": "backup-nfs:vm-130-disk-1,backup=0,size=60000G"}).get("scsi1") is None  # nothing to send
    assert hidden_params(vm, {})["scsi1"] == "backup-nfs:60000,backup=0"  # a new disk: allocated with the flag


def test_the_capacity_planner_leaves_out_a_disk_on_any_backup_store():
    cluster = m.Cluster(name="c", nodes=(m.Node(name="n1", cores=16, ram_gib=128),),
                        storage=(m.Storage(name="ceph", type="rbd"), m.Storage(name="bk", type="nfs", content=("backup",)),
                                 m.Storage(name="bk2", type="nfs", content=("backup",))))
    policies = {"critical": m.BackupPolicy(**{"class": "critical"}, schedule="21:00", storage="bk", keep_daily=1, rpo_hours=24),
                "batch": m.BackupPolicy(**{"class": "batch"}, schedule="21:00", storage="bk2", keep_daily=1, rpo_hours=24)}
    spec = m.VmSpec(name="srv", cores=2, memory_mib=2048, nics=(m.VmNic(vlan=110),),
                    disks=(m.VmDisk(storage="ceph", size_gb=100), m.VmDisk(storage="bk2", size_gb=5000)))
    [backed] = guest_backups(cluster, [m.Vm(name="srv", service="s", service_class="critical", cluster="c", spec=spec)], policies, {},
                             Demand(storage_gb={"ceph": 100.0}, committed_gb={"ceph": 100.0}))
    assert backup_targets(policies.values()) == {"bk", "bk2"}
    assert backed.archive_gb == pytest.approx(policies["critical"].archive_ratio * 100)  # the other class's store: left out too


def test_vzdump_leaves_out_backup_0_disks_and_an_existing_guest_gets_the_flag_on_its_own_volume(sim, inv):
    apply(inv, concurrency=8, plan=plan(inv, clusters=["pve-core"]), show_progress=False)
    admin = token_client(sim, "pve-core", "root@pam!admin", "Administrator")
    store = next(g for g in guests(admin) if g["name"] == "backup")
    conf = admin.nodes(store["node"]).qemu(store["vmid"]).config
    created = conf.get()
    assert created["scsi1"].startswith("backup-nfs:vm-") and "backup=0" in created["scsi1"]
    # as an older hatang left it: no flag on the store's disk (its own volume), an older fingerprint
    volume = created["scsi1"].split(",")[0]
    tags = ";".join(t if not t.startswith("cfg-") else "cfg-00000000" for t in created["tags"].split(";"))
    conf.put(scsi1=f"{volume},size=60000G", tags=tags)
    assert [i.field for i in drift(inv, deep=True, clusters=["pve-core"]).items if i.name == "backup"] == ["tags", "scsi1"]
    with pytest.raises(Exception, match="volume 'backup-nfs:vm-999-disk-9' does not exist"):
        conf.put(scsi1="backup-nfs:vm-999-disk-9,size=1G")  # PVE refuses a volume it cannot find
    update = next(a for a in plan(inv, clusters=["pve-core"]).actions if a.name == "backup")
    assert update.op == "update" and [c.field for c in update.changes] == ["config"]
    apply(inv, concurrency=8, plan=plan(inv, clusters=["pve-core"]), show_progress=False)
    after = conf.get()
    assert after["scsi1"].split(",")[0] == volume and "backup=0" in after["scsi1"] and "size=60000G" in after["scsi1"]
    assert not [k for k in after if k.startswith("unused")]  # no second 60 TB volume
    assert not drift(inv, deep=True, clusters=["pve-core"]).items and plan(inv, clusters=["pve-core"]).empty
    wait_task(admin, store["node"], admin.nodes(store["node"]).vzdump.post(vmid=str(store["vmid"]), storage="backup-nfs"))
    [archive] = [a for a in admin.nodes(store["node"]).storage("backup-nfs").content.get(content="backup") if a["vmid"] == store["vmid"]]
    assert archive["size"] == 100 * 1024**3 // 10  # its 100 GiB boot disk only, not the 60 TB store
