"""check_fit to the letter: the RAM a cluster needs against what it has (equal fits),
an anti-affinity group counted over every VM spec that names it, and a Ceph pool with
too few hosts for its copies (refused only when something is stored on it)."""

from __future__ import annotations

import dataclasses

import pytest

from hatang.inventory import load
from hatang.inventory import model as m
from hatang.inventory.checks import check_fit, usable_storage_gb
from hatang.inventory.inventory import Inventory


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
