"""The checks test_checks.py leaves open, to the letter and at their keys: check_fit's RAM
a cluster needs against what it has (equal fits), an anti-affinity group counted over
every VM spec that names it, a Ceph pool with too few hosts for its copies (refused only
when something is stored on it); a link twice in the file, a backup policy twice, the
management LAN port, in-band management without a core to carry it, the data center's
servers, an address plan not read from a file."""

from __future__ import annotations

import dataclasses

import pytest

from hatang.inventory import load
from hatang.inventory import model as m
from hatang.inventory.checks import check_addressing, check_fit, check_names, check_references, usable_storage_gb
from hatang.inventory.inventory import Inventory
from tests.inventory.test_checks import messages, replace_at


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return load(None, "lab")


def with_service(inv: Inventory, index: int, **changes: object) -> Inventory:
    services = [(path, s.model_copy(update=changes) if i == index else s) for i, (path, s) in enumerate(inv.services)]
    return dataclasses.replace(inv, services=services)


def with_cluster(inv: Inventory, name: str, **changes: object) -> Inventory:
    clusters = [(path, c.model_copy(update=changes) if c.name == name else c) for path, c in inv.clusters]
    return dataclasses.replace(inv, clusters=clusters)


def ram_needed_mib(inv: Inventory, cluster: str) -> int:
    return sum(spec.memory_mib * spec.count for _, s in inv.services if s.cluster == cluster for spec in s.vms)


def test_the_ram_a_cluster_needs_is_reported_in_gib(inv: Inventory) -> None:
    _, service = inv.services[0]
    cluster = inv.cluster_by_name[service.cluster]
    has_mib = sum(n.ram_gib for n in cluster.nodes) * 1024
    spec = service.vms[0]
    others = ram_needed_mib(inv, cluster.name) - spec.memory_mib * spec.count
    exactly = spec.model_copy(update={"count": 1, "memory_mib": has_mib - others})  # the cluster's RAM to the MiB
    ram_problems = lambda i: [p.message for p in check_fit(i) if p.message.startswith(f"cluster {cluster.name}: its VMs need")]  # noqa: E731
    assert ram_problems(with_service(inv, 0, vms=(exactly, *service.vms[1:]))) == []
    over = exactly.model_copy(update={"memory_mib": exactly.memory_mib + 2048})
    assert ram_problems(with_service(inv, 0, vms=(over, *service.vms[1:]))) == [
        f"cluster {cluster.name}: its VMs need {(has_mib + 2048) / 1024:.0f} GiB of RAM, it has {has_mib / 1024:.0f} GiB"]


def test_an_anti_affinity_group_counts_every_spec_naming_it(inv: Inventory) -> None:
    _, service = inv.services[0]
    cluster = inv.cluster_by_name[service.cluster]
    nodes = len(cluster.nodes)
    first = service.vms[0].model_copy(update={"anti_affinity": "pair", "count": nodes - 1})
    second = first.model_copy(update={"name": first.name + "-b", "count": 2})
    found = [p.message for p in check_fit(with_service(inv, 0, vms=(first, second)))]
    assert f"anti-affinity group 'pair' has {nodes + 1} members but cluster {cluster.name} has {nodes} nodes" in found
    alone = [p.message for p in check_fit(with_service(inv, 0, vms=(first,)))]
    assert not any("anti-affinity group 'pair'" in f for f in alone)


def test_a_pool_with_too_few_hosts_for_its_copies(inv: Inventory) -> None:
    cluster = inv.cluster_by_name["pve-core"]
    ceph = next(s for s in cluster.storage if s.type == "rbd")
    assert len(cluster.nodes) < 5
    five = ceph.model_copy(update={"replicas": 5})
    assert usable_storage_gb(cluster.model_copy(update={"storage": (five,)}), five) == 0
    stranded = [p.message for p in check_fit(with_cluster(inv, "pve-core", storage=tuple(five if s is ceph else s for s in cluster.storage)))]
    wanted = sum(d.size_gb * spec.count for _, s in inv.services if s.cluster == "pve-core" for spec in s.vms for d in spec.disks if d.storage == ceph.name)
    assert wanted > 0
    assert [f for f in stranded if f"storage {ceph.name}" in f] == [
        f"cluster pve-core: storage {ceph.name} needs {wanted:.0f} GB, usable 0 GB (hosts too few for its copies: cannot re-replicate)"]
    spare = five.model_copy(update={"name": "ceph-spare"})  # the same pool, nothing stored on it: nothing to refuse
    assert [p for p in check_fit(with_cluster(inv, "pve-core", storage=(*cluster.storage, spare)))] == []


def test_a_pool_too_small_says_only_its_sizes(inv: Inventory) -> None:
    cluster = inv.cluster_by_name["pve-core"]
    ceph = next(s for s in cluster.storage if s.type == "rbd")
    usable = usable_storage_gb(cluster, ceph)
    _, service = inv.services[0]
    assert service.cluster == "pve-core"
    big = service.vms[0].model_copy(update={"count": 1, "disks": (m.VmDisk(storage=ceph.name, size_gb=int(usable) + 1),)})
    changed = with_service(inv, 0, vms=(big, *service.vms[1:]))
    wanted = sum(d.size_gb * spec.count for _, s in changed.services if s.cluster == "pve-core" for spec in s.vms for d in spec.disks if d.storage == ceph.name)
    assert [p.message for p in check_fit(changed) if "storage" in p.message] == [
        f"cluster pve-core: storage {ceph.name} needs {wanted:.0f} GB, usable {usable:.0f} GB"]


def test_a_link_twice_in_the_file_is_named_at_its_second_end(inv: Inventory) -> None:
    _, first = inv.links[0]
    reverse = first.model_copy(update={"a": first.b, "b": first.a})
    found = messages(check_names, dataclasses.replace(inv, links=replace_at(inv.links, 1, reverse)))
    assert found == [f"duplicate link between {frozenset((reverse.a.device, reverse.b.device))!r} (first at links.0)"]  # as the check builds it
    assert [p.path for p in check_names(dataclasses.replace(inv, links=replace_at(inv.links, 1, reverse)))] == [("links", 1, "b")]


def test_a_backup_policy_twice(inv: Inventory) -> None:
    _, first = inv.backup_policies[0]
    twice = dataclasses.replace(inv, backup_policies=replace_at(inv.backup_policies, 1, inv.backup_policies[1][1].model_copy(update={"service_class": first.service_class})))
    assert messages(check_names, twice) == [f"duplicate backup policy for class {first.service_class!r} (first at backup_policies.0)"]
    assert [(p.file, p.path) for p in check_names(twice)] == [("inventory/services.yaml", ("backup_policies", 1, "class"))]


def test_the_management_lan_port(inv: Inventory) -> None:
    core = next(d for _, d in inv.devices if d.role == m.Role.core)
    on_it = m.Link(a=m.LinkEnd(device=core.name, port=core.mgmt_lan_port), b=m.LinkEnd(device="dr-vinh-yen", port=60))
    assert messages(check_references, dataclasses.replace(inv, links=[*inv.links, (("links", 999), on_it)])) == [
        f"port {core.mgmt_lan_port} of {core.name} is its management LAN port"]
    index, district = next((i, d) for i, (_, d) in enumerate(inv.devices) if d.role == m.Role.district)
    carrier = district.model_copy(update={"mgmt_lan_port": 20})
    assert messages(check_references, dataclasses.replace(inv, devices=replace_at(inv.devices, index, carrier))) == [
        "only the core carries the IIC management network into the WAN, not a district"]


def test_in_band_management_needs_a_core_to_carry_it(inv: Inventory) -> None:
    index, core = next((i, d) for i, (_, d) in enumerate(inv.devices) if d.role == m.Role.core)
    changed = dataclasses.replace(inv, devices=replace_at(inv.devices, index, core.model_copy(update={"mgmt_lan_port": None})))
    in_band = [d.name for d in changed.device_by_name.values() if changed.in_band(d)]
    assert len(in_band) > 1
    assert messages(check_references, changed) == [
        f"{len(in_band)} device(s) are managed in band (e.g. {in_band[0]}) but no core has a 'mgmt_lan_port' to carry the IIC management network into the WAN"]


def test_the_data_centers_servers_are_vms(inv: Inventory) -> None:
    dc = inv.datacenter.model_copy(update={"ntp_servers": ("ntp-01", "ntp-09"), "syslog_server": "logs"})
    changed = dataclasses.replace(inv, datacenter=dc)
    assert messages(check_references, changed) == ["server 'ntp-09' is no VM of services.yaml", "server 'logs' is no VM of services.yaml"]
    assert [p.path for p in check_references(changed)] == [("datacenter", "ntp_servers", 1), ("datacenter", "syslog_server")]


def test_a_plan_not_read_from_a_file_is_named_by_its_place(inv: Inventory) -> None:
    import copy

    plan = copy.deepcopy(inv.plan)
    device = next(iter(inv.device_by_name))
    del plan.pools["mgmt"].allocations[device]
    problems = list(check_addressing(dataclasses.replace(inv, plan=plan, plan_source=None)))
    assert [(p.file, p.path) for p in problems] == [("addressing/lab.yaml", ("allocations", "mgmt"))]


def test_a_service_on_an_unknown_cluster_does_not_stop_the_fit_of_the_next(inv: Inventory) -> None:
    (_, first), (_, second) = inv.services[0], inv.services[1]
    cluster = inv.cluster_by_name[second.cluster]
    huge = second.vms[0].model_copy(update={"memory_mib": max(n.ram_gib for n in cluster.nodes) * 1024 + 1})
    services = [(path, s) for path, s in inv.services]
    services[0] = (services[0][0], first.model_copy(update={"cluster": "pve-nowhere"}))
    services[1] = (services[1][0], second.model_copy(update={"vms": (huge, *second.vms[1:])}))
    assert f"{huge.memory_mib} MiB is more than the largest node of {cluster.name} has" in messages(check_fit, dataclasses.replace(inv, services=services))
