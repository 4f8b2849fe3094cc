"""Proxmox as it really behaves (issue 19): one test per point where real PVE differs
from what a naive client expects. Each fails against the client before the issue: P1
and P4 are in test_retry and test_faults, P7 in test_auth."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from hatang.cloud.apply import apply, reboot_waves
from hatang.cloud.client import Pve
from hatang.cloud.desired import desired_state
from hatang.cloud.operations import Operations
from hatang.cloud.plan import Action, plan, plan_cluster
from hatang.errors import HatangError

from .conftest import OPERATOR, guests, simulator, token_client, wait_task
from .test_cli import run

DMZ = ["pve-dmz"]
CORE = ["pve-core"]


def test_p1_a_second_clone_to_the_same_id_fails_inside_its_task(sim):
    """qemu-server answers a clone before the new id is claimed: both requests are
    accepted, the later worker finds the placeholder and fails, the first guest is intact."""
    ops = token_client(sim, "pve-dmz", "ops@pve!race", OPERATOR)
    node = ops.nodes("pve-dmz-01").qemu(9000)
    first = node.clone.post(newid=150, name="first", full=1)
    second = node.clone.post(newid=150, name="second", full=1)  # accepted: nothing claims 150 yet
    assert wait_task(ops, "pve-dmz-01", first)["exitstatus"] == "OK"
    assert wait_task(ops, "pve-dmz-01", second)["exitstatus"] == "unable to create VM 150: config file already exists"
    assert [g["name"] for g in guests(ops) if g["vmid"] == 150] == ["first"]


def test_p2_cores_change_on_a_running_vm_is_pending_not_repeated_and_reboot_applies_it(sim, inv):
    apply(inv, concurrency=3, plan=plan(inv, clusters=DMZ), show_progress=False)
    ops = token_client(sim, "pve-dmz", "ops@pve!manual", OPERATOR)
    for name in ("dvc-web-01", "portal-web-01"):  # made smaller by hand, and restarted: hatang must grow them back
        web = guests(ops, name)[0]
        ops.nodes(web["node"]).qemu(web["vmid"]).config.put(cores=2)
        wait_task(ops, web["node"], ops.nodes(web["node"]).qemu(web["vmid"]).status.reboot.post())
    first = apply(inv, concurrency=2, plan=plan(inv, clusters=DMZ), show_progress=False)
    assert {s.name: s.data.get("pending_reboot") for s in first.steps} == {"dvc-web-01": ["cores"], "portal-web-01": ["cores"]}
    assert guests(ops, "dvc-web-01")[0]["maxcpu"] == 2  # PVE runs the old figure until a restart

    again = plan(inv, clusters=DMZ)
    assert again.empty and not again.of_cluster("pve-dmz").of("update")
    assert {a.name: [str(c) for c in a.changes] for a in again.of_cluster("pve-dmz").of("reboot")} == {
        "dvc-web-01": ["cores: 2 → 4"], "portal-web-01": ["cores: 2 → 8"]}
    assert apply(inv, concurrency=2, plan=again, show_progress=False).steps == []  # the second apply repeats nothing
    shown = run("plan", "--cluster", "pve-dmz")
    assert shown.returncode == 0 and "nothing to do" in shown.stdout and "pending reboot" in shown.stdout
    assert "dvc-web-01" in shown.stdout and "cores: 2 → 4" in shown.stdout

    done = run("apply", "--cluster", "pve-dmz", "--reboot", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    reboots = [s for s in json.loads(done.stdout)["steps"] if s["op"] == "reboot"]
    assert {s["name"] for s in reboots} == {"dvc-web-01", "portal-web-01"} and all(s["ok"] for s in reboots)
    assert {g["name"]: g["maxcpu"] for g in guests(ops) if g["name"] in ("dvc-web-01", "portal-web-01")} == {"dvc-web-01": 4, "portal-web-01": 8}
    final = plan(inv, clusters=DMZ)
    assert final.empty and not final.of_cluster("pve-dmz").of("reboot")


def test_p2_a_pending_change_made_by_hand_shows_with_deep_and_is_taken_back(sim, inv):
    apply(inv, concurrency=3, plan=plan(inv, clusters=DMZ), show_progress=False)
    ops = token_client(sim, "pve-dmz", "ops@pve!manual", OPERATOR)
    web = guests(ops, "dvc-web-01")[0]
    ops.nodes(web["node"]).qemu(web["vmid"]).config.put(cores=1)  # pending: /cluster/resources still says 4
    assert plan(inv, clusters=DMZ).empty
    deep = plan(inv, clusters=DMZ, deep=True)
    assert [(a.name, [str(c) for c in a.changes]) for a in deep.of_cluster("pve-dmz").of("update")] == [("dvc-web-01", ["cores: 1 (pending) → 4"])]
    apply(inv, concurrency=2, plan=deep, show_progress=False)
    assert not [e for e in ops.nodes(web["node"]).qemu(web["vmid"]).pending.get() if "pending" in e]  # nothing pending
    assert plan(inv, clusters=DMZ, deep=True).empty


def _reboot(name: str, node: str, group: str | None) -> Action:
    from types import SimpleNamespace

    return Action("reboot", "c", name, "pending", 100, node, desired=SimpleNamespace(anti_affinity=group))


def test_p2_reboots_go_one_node_at_a_time_and_never_two_of_a_group_at_once():
    waves = reboot_waves([_reboot("b-02", "n2", "b"), _reboot("a-01", "n1", "a"), _reboot("b-01", "n1", "b"),
                          _reboot("a-02", "n1", "a"), _reboot("solo", "n1", None)])
    assert [[a.name for a in wave] for wave in waves] == [["a-01", "b-01", "solo"], ["a-02"], ["b-02"]]


def test_p2_reboot_refuses_while_a_partner_is_down(tmp_path, inv):
    with simulator(tmp_path) as sim:
        apply(inv, concurrency=3, plan=plan(inv, clusters=DMZ), show_progress=False)
        ops = token_client(sim, "pve-dmz", "ops@pve!manual", OPERATOR)
        one, two = guests(ops, "dvc-web-01")[0], guests(ops, "dvc-web-02")[0]
        ops.nodes(one["node"]).qemu(one["vmid"]).config.put(cores=2)
        wait_task(ops, one["node"], ops.nodes(one["node"]).qemu(one["vmid"]).status.reboot.post())
        apply(inv, concurrency=2, plan=plan(inv, clusters=DMZ), show_progress=False)  # cores 4 now pending
        sim.faults.set_offline(two["node"])  # its partner's node is lost (fence delay 10 s: not recovered yet)
        with pytest.raises(HatangError) as refused:
            apply(inv, concurrency=2, plan=plan(inv, clusters=DMZ), show_progress=False, reboot=True)
        assert any("dvc-web-01: not rebooted: dvc-web-01: its anti-affinity partner" in d for d in refused.value.details)
        assert guests(ops, "dvc-web-01")[0]["maxcpu"] == 2  # not restarted


def test_p3_a_task_ending_with_warnings_succeeded_and_the_warnings_are_shown(sim, inv):
    sim.faults.warn_task("qmstart", "unable to set cpu affinity", count=1)
    report = apply(inv, concurrency=1, plan=plan(inv, clusters=DMZ), show_progress=False)
    assert report.ok
    warned = [s for s in report.steps if s.data.get("warnings")]
    assert len(warned) == 1 and warned[0].data["warnings"] == [f"{warned[0].name}: start: WARN: unable to set cpu affinity"]


def test_p5_ha_guests_move_through_the_ha_manager_and_a_blocked_move_names_the_blocker(sim, inv):
    apply(inv, concurrency=8, plan=plan(inv, clusters=CORE), show_progress=False)
    cplan = plan_cluster(inv, "pve-core", desired_state(inv)["pve-core"])
    ops = Operations(Pve.open(inv, "pve-core"), cplan.view, task_timeout_s=20)
    one, two = (next(g for g in cplan.view.guests if g.name == n) for n in ("vc-mcu-01", "vc-mcu-02"))
    free = sorted(set(cplan.view.nodes) - {one.node, two.node})[0]
    assert ops.run(Action("move", "pve-core", one.name, "test", one.vmid, one.node, free)) == {"vmid": one.vmid, "node": free, "via": "ha"}
    auditor = token_client(sim, "pve-core", "auditor@pve!check", "PVEAuditor")
    assert guests(auditor, "vc-mcu-01")[0]["node"] == free
    with pytest.raises(HatangError) as blocked:
        ops.run(Action("move", "pve-core", two.name, "test", two.vmid, two.node, free))
    assert blocked.value.message == f"vc-mcu-02: the HA manager will not move it to {free}: blocked by anti-affinity with vm:{one.vmid}"
    assert guests(auditor, "vc-mcu-02")[0]["node"] == two.node


def test_p6_a_disk_allocation_outliving_the_request_timeout_is_not_allocated_twice(sim, inv, monkeypatch):
    monkeypatch.setenv("HATANG_PVE_TIMEOUT", "1")
    sim.faults.slow_allocation("backup-nfs", seconds=2.5)  # the backup VM's 60,000 GiB scsi1
    report = apply(inv, concurrency=8, plan=plan(inv, clusters=CORE), show_progress=False)
    assert report.ok, report.failed
    monkeypatch.delenv("HATANG_PVE_TIMEOUT")
    ops = token_client(sim, "pve-core", "ops@pve!manual", OPERATOR)
    backup = guests(ops, "backup")[0]
    config = ops.nodes(backup["node"]).qemu(backup["vmid"]).config.get()
    assert config["scsi1"].startswith("backup-nfs:vm-") and not [k for k in config if k.startswith("unused")]
    assert plan(inv, clusters=CORE).empty


def test_p8_the_cluster_stays_reachable_when_the_first_nodes_api_is_down(sim, inv):
    sim.faults.set_offline("pve-dmz-01")  # its pveproxy with it
    the_plan = plan(inv, clusters=DMZ)  # read through another node's endpoint
    assert the_plan.api_calls == 6
    assert any("pve-dmz-01, which is offline" in p for p in the_plan.problems)  # the template's node
    sim.faults.set_offline("pve-dmz-01", False)
    sim.faults.set_offline("pve-dmz-02")
    assert apply(inv, concurrency=3, plan=plan(inv, clusters=DMZ), show_progress=False).ok  # on the two nodes left


def test_p9_container_templates_are_looked_up_on_the_node_that_uses_them(sim, inv):
    planned = plan(inv, clusters=CORE).of_cluster("pve-core")
    ntp = next(a for a in planned.of("create") if a.name == "ntp-01")
    admin = token_client(sim, "pve-core", "ops@pve!admin", "PVEAdmin")
    admin.nodes(ntp.target).storage("local").content(quote("local:vztmpl/debian-12-standard_amd64.tar.zst", safe="")).delete()
    again = plan(inv, clusters=CORE).of_cluster("pve-core")
    assert f"cannot create ntp-01 on {ntp.target}: no container template 'debian-12-standard' in {ntp.target}'s template storage" in " ".join(again.problems)
    assert "ntp-01" not in {a.name for a in again.of("create")}


def test_p9_a_clone_to_another_node_needs_the_template_on_shared_storage(sim, inv):
    admin = token_client(sim, "pve-dmz", "ops@pve!admin", "PVEAdmin")
    admin.nodes("pve-dmz-01").qemu(9000).config.put(scsi0="local:2")  # a boot disk on local storage, by hand (PVE refuses a volume it cannot find)
    with pytest.raises(Exception, match=r"can't clone VM to node 'pve-dmz-02' \(VM uses local storage\)"):
        admin.nodes("pve-dmz-01").qemu(9000).clone.post(newid=160, target="pve-dmz-02", full=1)
    planned = plan(inv, clusters=DMZ).of_cluster("pve-dmz")
    elsewhere = [vm for vm in planned.desired if vm.name not in {a.name for a in planned.of("create")}]
    assert elsewhere and all(a.target == "pve-dmz-01" for a in planned.of("create"))
    assert any("template 'debian-12-cloud' is on pve-dmz-01 with disks on node-local storage (local)" in p for p in planned.problems)
