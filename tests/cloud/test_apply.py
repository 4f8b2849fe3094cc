"""Apply from empty converges, a re-plan is empty, and the guests are what the inventory says."""

from __future__ import annotations

from collections import Counter
from urllib.parse import unquote

from .conftest import guests, read_budget, token_client

from hatang import audit
from hatang.cloud.drift import drift
from hatang.cloud.plan import plan


def test_apply_from_empty_converges_and_replans_empty(applied):
    sim, inv, report = applied
    assert report.ok, report.failed
    assert sum(1 for s in report.steps if s.op == "create") == len(inv.vms())
    second = plan(inv)
    assert second.empty, [a.as_dict() for a in second.actions]
    # a read budget independent of the number of guests
    assert second.api_calls == read_budget(inv)
    deep = plan(inv, deep=True)  # every guest's config read back matches too
    vms = sum(1 for vm in inv.vms() if vm.spec.kind == "qemu")  # and every running VM's pending changes
    assert deep.empty and deep.api_calls == second.api_calls + len(inv.vms()) + vms
    assert drift(inv, deep=True).items == []

    wanted = {vm.name: vm for vm in inv.vms()}
    for cluster in inv.cluster_by_name:
        api = token_client(sim, cluster, "auditor@pve!check", "PVEAuditor")
        found = guests(api)
        names = Counter(g["name"] for g in found)
        assert set(names) == {n for n, vm in wanted.items() if vm.cluster == cluster}
        assert max(names.values()) == 1  # never a duplicate
        for g in found:
            vm = wanted[g["name"]]
            assert g["status"] == "running" and g["maxcpu"] == vm.spec.cores
            assert g["maxmem"] == vm.spec.memory_mib * 1024**2
            assert {"hatang", f"svc-{vm.service}"} <= set(g["tags"].split(";"))
            assert (g.get("hastate") == "started") == vm.spec.ha


def test_guest_config_carries_cloud_init_vlan_and_disks(applied):
    sim, inv, _ = applied
    api = token_client(sim, "pve-core", "auditor@pve!check", "PVEAuditor")
    db = guests(api, "db-pg-01")[0]
    config = api.nodes(db["node"]).qemu(db["vmid"]).config.get()
    address = inv.host_address("db-pg-01", 120)
    gateway = inv.vlan_prefix(120).network_address + 1
    assert config["net0"].startswith("virtio=") and config["net0"].endswith("bridge=vmbr0,tag=120")
    assert config["ipconfig0"] == f"ip={address},gw={gateway}"
    assert config["ciuser"] == "htadmin"
    assert unquote(config["sshkeys"]).startswith("ssh-ed25519 ")
    assert config["scsi0"].endswith("size=1000G")
    backup = guests(api, "backup")[0]
    backup_config = api.nodes(backup["node"]).qemu(backup["vmid"]).config.get()
    assert backup_config["scsi1"].startswith("backup-nfs:") and "size=60000G" in backup_config["scsi1"]
    ntp = guests(api, "ntp-01")[0]
    assert ntp["type"] == "lxc"
    ct = api.nodes(ntp["node"]).lxc(ntp["vmid"]).config.get()
    assert f"tag=140,ip={inv.host_address('ntp-01', 140)}" in ct["net0"]


def test_anti_affinity_holds_as_placement_and_ha_rules(applied):
    sim, inv, _ = applied
    api = token_client(sim, "pve-core", "auditor@pve!check", "PVEAuditor")
    by_sid = {f"{'ct' if g['type'] == 'lxc' else 'vm'}:{g['vmid']}": g for g in guests(api)}
    rules = {r["rule"]: r for r in api.cluster.ha.rules.get()}
    assert "hatang-aa-db-pg" in rules
    for rule in rules.values():
        assert rule["type"] == "resource-affinity" and rule["affinity"] == "negative"
        members = [by_sid[s] for s in rule["resources"].split(",")]
        assert len({m["node"] for m in members}) == len(members), rule  # each on its own node
    db_members = {by_sid[s]["name"] for s in rules["hatang-aa-db-pg"]["resources"].split(",")}
    assert db_members == {"db-pg-01", "db-pg-02", "db-pg-03"}


def test_apply_is_audited(applied):
    _, inv, _ = applied
    records = [r for r in audit.read("cloud") if r["action"] == "apply"]
    assert records and records[-1]["ok"] is True
    assert sum(1 for s in records[-1]["steps"] if s["op"] == "create") == len(inv.vms())
