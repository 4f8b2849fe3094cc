"""The plan's diff on its own (no API): duplicates, missing templates, field changes, deletes."""

from __future__ import annotations

from hatang.cloud.desired import DesiredVm, Nic
from hatang.cloud.observed import ClusterView, Guest, NodeState
from hatang.cloud.plan import diff
from hatang.inventory import model as m

CLUSTER = m.Cluster(name="c", nodes=(m.Node(name="n1", cores=16, ram_gib=128), m.Node(name="n2", cores=16, ram_gib=128)),
                    storage=(m.Storage(name="s", type="rbd"),))


def wanted(name: str, cores: int = 2) -> DesiredVm:
    return DesiredVm(name, "svc", "standard", "c", "qemu", "tpl", cores, 2048, (("s", 10),), (Nic(110),), False, None, "u", "k")


def guest(vmid: int, name: str, tags: tuple[str, ...], node: str = "n1", cores: int = 2, template: bool = False) -> Guest:
    return Guest(vmid, name, node, "qemu", "running", cores, 2048, 10, tags, template, None, None)


def view(*guests: Guest) -> ClusterView:
    nodes = {n: NodeState(n, True, 32, 128 * 1024**3) for n in ("n1", "n2")}
    return ClusterView("c", nodes, list(guests), {}, {})


def test_duplicates_keep_the_lowest_id_and_report_the_rest():
    vm = wanted("app")
    plan = diff(CLUSTER, [vm], view(guest(9000, "tpl", (), template=True), guest(101, "app", vm.tags), guest(105, "app", vm.tags, node="n2")))
    assert [(a.op, a.vmid) for a in plan.actions] == [("conflict", 105)]


def test_a_missing_template_is_a_problem_not_a_create():
    plan = diff(CLUSTER, [wanted("app")], view())
    assert plan.actions == [] and plan.problems == ["cannot create app: no template VM named 'tpl' on the cluster"]


def test_changed_fields_and_dropped_guests():
    vm = wanted("app", cores=4)
    gone = guest(102, "old", ("hatang", "svc-old"))
    plan = diff(CLUSTER, [vm], view(guest(9000, "tpl", (), template=True), guest(101, "app", vm.tags, cores=2), gone))
    assert [(a.op, a.name, [str(c) for c in a.changes]) for a in plan.actions] == [
        ("update", "app", ["cores: 2 → 4"]),
        ("delete", "old", []),
    ]


def test_an_anti_affinity_group_pve_would_refuse_as_a_rule_id_is_a_problem():
    """The group becomes the HA rule id hatang-aa-<group>, a pve-configid: PVE refuses a dot."""
    members = [DesiredVm(f"web-0{i}", "svc", "standard", "c", "qemu", "tpl", 2, 2048, (("s", 10),), (Nic(110),), True,
                         "web.front", "u", "k") for i in (1, 2)]
    plan = diff(CLUSTER, members, view(guest(9000, "tpl", (), template=True)))
    assert any("anti_affinity group 'web.front' (web-01, web-02): its HA rule id 'hatang-aa-web.front' is refused by PVE" in p
               for p in plan.problems)
    assert not plan.of("ha-rule")
