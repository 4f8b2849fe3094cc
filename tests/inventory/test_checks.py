"""The inventory's semantic checks one by one: the shipped inventory passes each, and one
break of each kind is reported with its message and key (checks called directly on a
loaded inventory with one record changed, no YAML written)."""

from __future__ import annotations

import copy
import dataclasses
from ipaddress import IPv4Network

import pytest
from pydantic import BaseModel

from hatang.inventory import load
from hatang.inventory import model as m
from hatang.inventory.checks import CHECKS, check_addressing, check_fit, check_names, check_one_cpe_per_commune, check_references, usable_storage_gb
from hatang.inventory.inventory import Inventory
from hatang.inventory.yamlsource import Problem, format_path


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return load(None, "lab")


def replace_at(items: list, index: int, record: object) -> list:
    return [(path, record if i == index else item) for i, (path, item) in enumerate(items)]


def messages(check, inv: Inventory) -> list[str]:
    """The messages of ``check``'s problems, each first checked to point where it says."""
    found = list(check(inv))
    for problem in found:
        assert_located(inv, problem)
    return [p.message for p in found]


#: every key an inventory record may have (those a file leaves to their default included)
FIELDS = {info.alias or name for model in vars(m).values() if isinstance(model, type) and issubclass(model, BaseModel)
          for name, info in model.model_fields.items()}


def assert_located(inv: Inventory, problem: Problem) -> None:
    """``problem`` names a file the inventory read and, when it names a key, keys that
    file uses, at the line of the key (or of the record, when the key is left to its
    default); a record a test appended, at index 999, is in no file."""
    sources = {**{name: s for name, s in inv.sources.items()}, **{s.file: s for s in [*inv.sources.values(), inv.plan_source] if s is not None}}
    source = sources.get(problem.file)
    assert source is not None, f"{problem}: no such inventory file"
    if problem.path and 999 not in problem.path:
        names = {part for path in source.lines for part in path if isinstance(part, str)} | FIELDS
        assert all(part in names for part in problem.path if isinstance(part, str)), f"{problem}: no such key in {problem.file}"
        assert problem.line == source.line_of(problem.path), problem


def keys(check, inv: Inventory) -> list[str]:
    return [p.where().split(": ", 1)[-1] for p in check(inv)]


def test_the_shipped_inventory_passes_every_check(inv: Inventory) -> None:
    assert [p for check in CHECKS for p in check(inv)] == []


# --- names ---------------------------------------------------------------------------


def test_duplicate_codes_slugs_and_names(inv: Inventory) -> None:
    (path0, first), (_, second) = inv.districts[0], inv.districts[1]
    twin = dataclasses.replace(inv, districts=replace_at(inv.districts, 1, second.model_copy(update={"code": first.code})))
    assert messages(check_names, twin) == [f"duplicate district code '{first.code}' (first at districts.0)"]
    assert keys(check_names, twin) == ["districts[1].code"]
    device = inv.devices[1][1].model_copy(update={"name": inv.devices[0][1].name})
    assert messages(check_names, dataclasses.replace(inv, devices=replace_at(inv.devices, 1, device))) == [
        f"duplicate device name '{inv.devices[0][1].name}' (first at devices.0)"]


def test_a_link_twice_in_either_direction(inv: Inventory) -> None:
    path, link = inv.links[0]
    reverse = link.model_copy(update={"a": link.b, "b": link.a})
    found = messages(check_names, dataclasses.replace(inv, links=[*inv.links, (("links", 999), reverse)]))
    assert found[0].startswith("duplicate link between") and "(first at links.0)" in found[0]


def test_duplicate_host_names_across_vms_and_nodes(inv: Inventory) -> None:
    path, service = inv.services[0]
    node = inv.clusters[0][1].nodes[0].name
    vm = service.vms[0].model_copy(update={"name": node, "count": 1})
    changed = dataclasses.replace(inv, services=replace_at(inv.services, 0, service.model_copy(update={"vms": (vm, *service.vms[1:])})))
    assert messages(check_names, changed) == [f"duplicate host name '{node}'"]


def test_a_site_key_shared_by_a_district_and_an_agency(inv: Inventory) -> None:
    path, agency = inv.agencies[0]
    changed = dataclasses.replace(inv, agencies=replace_at(inv.agencies, 0, agency.model_copy(update={"slug": inv.districts[0][1].slug})))
    assert messages(check_names, changed) == [f"site key '{inv.districts[0][1].slug}' is used by 2 sites (district, commune and agency slugs must differ)"]


# --- references ----------------------------------------------------------------------


def test_unknown_district_site_and_credential(inv: Inventory) -> None:
    commune = inv.communes[0][1].model_copy(update={"district": "999"})
    assert messages(check_references, dataclasses.replace(inv, communes=replace_at(inv.communes, 0, commune))) == ["unknown district code '999'"]
    device = inv.devices[0][1].model_copy(update={"site": "nowhere", "credentials": "nobody"})
    changed = dataclasses.replace(inv, devices=replace_at(inv.devices, 0, device))
    assert messages(check_references, changed) == ["unknown site 'nowhere'", "unknown credential reference 'nobody' (see credentials.yaml)"]
    assert keys(check_references, changed) == ["devices[0].site", "devices[0].credentials"]


def test_links_to_unknown_devices_used_ports_lan_ports_and_loops(inv: Inventory) -> None:
    path, link = inv.links[0]
    ghost = link.model_copy(update={"b": m.LinkEnd(device="ghost", port=0)})
    assert messages(check_references, dataclasses.replace(inv, links=replace_at(inv.links, 0, ghost))) == ["link end names unknown device 'ghost'"]
    again = m.Link(a=m.LinkEnd(device=link.a.device, port=link.a.port), b=m.LinkEnd(device=inv.links[1][1].b.device, port=40))
    assert messages(check_references, dataclasses.replace(inv, links=[*inv.links, (("links", 999), again)])) == [
        f"port {link.a.port} of {link.a.device} is already used by links.0"]
    lan = next(d for _, d in inv.devices if d.lan_port is not None)
    on_lan = m.Link(a=m.LinkEnd(device=lan.name, port=lan.lan_port), b=m.LinkEnd(device="core-iic", port=60))
    assert messages(check_references, dataclasses.replace(inv, links=[*inv.links, (("links", 999), on_lan)])) == [f"port {lan.lan_port} of {lan.name} is its LAN port"]
    loop = m.Link(a=m.LinkEnd(device="core-iic", port=61), b=m.LinkEnd(device="core-iic", port=62))
    assert messages(check_references, dataclasses.replace(inv, links=[*inv.links, (("links", 999), loop)])) == ["a link cannot join a device to itself"]


def test_data_center_references(inv: Inventory) -> None:
    dc = dataclasses.replace(inv, datacenter=inv.datacenter.model_copy(update={"district": "998"}))
    assert messages(check_references, dc) == ["unknown district code '998'"]
    path, cluster = inv.clusters[0]
    vlans = dataclasses.replace(inv, clusters=replace_at(inv.clusters, 0, cluster.model_copy(update={"vlans": (*cluster.vlans, 4000)})))
    assert messages(check_references, vlans) == ["unknown VLAN 4000"]


def test_service_references(inv: Inventory) -> None:
    path, service = inv.services[0]
    elsewhere = dataclasses.replace(inv, services=replace_at(inv.services, 0, service.model_copy(update={"cluster": "pve-nowhere"})))
    assert messages(check_references, elsewhere) == ["unknown cluster 'pve-nowhere'"]
    spec = service.vms[0]
    bad = spec.model_copy(update={"disks": (m.VmDisk(storage="tape", size_gb=1),), "nics": (m.VmNic(vlan=130),)})
    changed = dataclasses.replace(inv, services=replace_at(inv.services, 0, service.model_copy(update={"vms": (bad, *service.vms[1:])})))
    assert messages(check_references, changed) == [f"cluster {service.cluster} has no storage 'tape'", f"VLAN 130 is not carried by cluster {service.cluster}"]
    bare = spec.model_copy(update={"nics": ()})
    changed = dataclasses.replace(inv, services=replace_at(inv.services, 0, service.model_copy(update={"vms": (bare, *service.vms[1:])})))
    assert messages(check_references, changed) == ["a VM needs at least one NIC"]


# --- one CPE per commune ---------------------------------------------------------------


def test_each_commune_has_exactly_one_cpe_at_a_commune(inv: Inventory) -> None:
    index, cpe = next((i, d) for i, (_, d) in enumerate(inv.devices) if d.role == m.Role.commune_cpe)
    commune = next(c for _, c in inv.communes if c.slug == cpe.site)
    without = dataclasses.replace(inv, devices=[d for i, d in enumerate(inv.devices) if i != index])
    assert messages(check_one_cpe_per_commune, without) == [f"commune {commune.code} {commune.name} has no commune_cpe device in network.yaml"]
    second = cpe.model_copy(update={"name": cpe.name + "-b"})
    doubled = dataclasses.replace(inv, devices=[*inv.devices, (("devices", 999), second)])
    assert messages(check_one_cpe_per_commune, doubled) == [f"commune {commune.code} {commune.name} has 2 CPEs: {cpe.name}, {cpe.name}-b"]
    at_district = second.model_copy(update={"site": inv.districts[0][1].slug})
    misplaced = dataclasses.replace(inv, devices=[*inv.devices, (("devices", 999), at_district)])
    assert messages(check_one_cpe_per_commune, misplaced) == ["a commune_cpe must sit at a commune, not a district"]


# --- addressing ------------------------------------------------------------------------


def test_missing_overlapping_and_stray_allocations(inv: Inventory) -> None:
    plan = copy.deepcopy(inv.plan)
    device = next(iter(inv.device_by_name))
    del plan.pools["mgmt"].allocations[device]
    assert messages(check_addressing, dataclasses.replace(inv, plan=plan)) == [f"no address for device {device} (run 'hatang inventory allocate --env lab')"]
    plan = copy.deepcopy(inv.plan)
    loopbacks = plan.pools["loopback"].allocations
    first, second = list(loopbacks)[:2]
    loopbacks[second] = loopbacks[first]
    found = messages(check_addressing, dataclasses.replace(inv, plan=plan))
    assert found == [f"prefix of loopback:{second} overlaps loopback:{first}"]
    plan = copy.deepcopy(inv.plan)
    host = next(iter(plan.pools["hosts"].allocations))
    plan.pools["hosts"].allocations[host] = IPv4Network("198.19.255.254/32")
    assert messages(check_addressing, dataclasses.replace(inv, plan=plan)) == ["198.19.255.254/32 is in no data-center VLAN prefix"]


def test_the_lab_plan_stays_inside_198_18_0_0_15(inv: Inventory) -> None:
    plan = copy.deepcopy(inv.plan)
    plan.pools["mgmt"].supernet = IPv4Network("10.0.0.0/16")
    assert "10.0.0.0/16 is outside the lab range 198.18.0.0/15" in messages(check_addressing, dataclasses.replace(inv, plan=plan))
    assert not any("lab range" in f for f in messages(check_addressing, dataclasses.replace(inv, plan=plan, env="production")))


# --- fit -------------------------------------------------------------------------------


def _with_vm(inv: Inventory, **changes: object) -> Inventory:
    path, service = inv.services[0]
    spec = service.vms[0].model_copy(update=changes)
    return dataclasses.replace(inv, services=replace_at(inv.services, 0, service.model_copy(update={"vms": (spec, *service.vms[1:])})))


def test_a_vm_larger_than_any_node(inv: Inventory) -> None:
    cluster = inv.cluster_by_name[inv.services[0][1].cluster]
    ram = max(n.ram_gib for n in cluster.nodes) * 1024
    threads = max(n.cores * n.threads_per_core for n in cluster.nodes)
    assert messages(check_fit, _with_vm(inv, count=1, memory_mib=ram, cores=threads)) == []  # exactly the largest node fits
    assert messages(check_fit, _with_vm(inv, count=1, memory_mib=ram + 1, cores=threads + 1)) == [
        f"{ram + 1} MiB is more than the largest node of {cluster.name} has", f"{threads + 1} vCPU is more than the largest node of {cluster.name} has"]


def test_a_cluster_out_of_ram_storage_or_nodes(inv: Inventory) -> None:
    path, service = inv.services[0]
    cluster = inv.cluster_by_name[service.cluster]
    ram_gib = sum(n.ram_gib for n in cluster.nodes)
    # 99 VMs of 64 GiB = 6336 GiB against the cluster's 1024 GiB; an anti-affinity group of 99 on 4 nodes
    many = _with_vm(inv, count=99, memory_mib=64 * 1024)
    found = messages(check_fit, many)
    assert any(f.startswith(f"cluster {cluster.name}: its VMs need ") and f.endswith(f"it has {ram_gib} GiB") for f in found)
    group = service.vms[0].anti_affinity
    assert f"anti-affinity group '{group}' has 99 members but cluster {cluster.name} has {len(cluster.nodes)} nodes" in found
    usable = usable_storage_gb(cluster, cluster.storage[0])
    big_disk = _with_vm(inv, disks=(m.VmDisk(storage=cluster.storage[0].name, size_gb=int(usable) + 1),))
    assert any(f"storage {cluster.storage[0].name} needs" in f and f"usable {usable:.0f} GB" in f for f in messages(check_fit, big_disk))


def test_usable_storage_follows_the_failure_model() -> None:
    nodes = tuple(m.Node(name=f"n{i}", cores=8, ram_gib=64, disks=(m.Disk(role="osd", kind="ssd", size_gb=1000),)) for i in range(3))
    cluster = m.Cluster(name="c", nodes=nodes, storage=())
    # 3 hosts × 1000 GB, 3 replicas, near-full 0.8: 3000 ÷ 3 × 0.8 = 800 GB; no disks of the kind: None
    assert usable_storage_gb(cluster, m.Storage(name="ceph", type="rbd", replicas=3, near_full_ratio=0.8)) == pytest.approx(800)
    assert usable_storage_gb(cluster, m.Storage(name="local", type="dir", shared=False)) is None
    assert usable_storage_gb(cluster, m.Storage(name="nfs", type="nfs", raw_gb=1000, near_full_ratio=0.9)) == pytest.approx(900)


@pytest.mark.parametrize(
    ("collection", "field", "what", "file"),
    [("districts", "code", "district code", "province.yaml"), ("districts", "slug", "district slug", "province.yaml"),
     ("communes", "code", "commune code", "province.yaml"), ("communes", "slug", "commune slug", "province.yaml"),
     ("agencies", "slug", "agency slug", "agencies.yaml"), ("devices", "name", "device name", "network.yaml"),
     ("vlans", "id", "VLAN id", "datacenter.yaml"), ("clusters", "name", "cluster name", "datacenter.yaml"),
     ("services", "name", "service name", "services.yaml")],
)
def test_every_unique_key_is_checked_in_its_file(inv: Inventory, collection: str, field: str, what: str, file: str) -> None:
    items = getattr(inv, collection)
    value = getattr(items[0][1], field)
    changed = dataclasses.replace(inv, **{collection: replace_at(items, 1, items[1][1].model_copy(update={field: value}))})
    problem = next(p for p in check_names(changed) if p.message.startswith("duplicate"))
    assert problem.message == f"duplicate {what} {value!r} (first at {collection}.0)"
    assert problem.file.endswith(file) and problem.path == (collection, 1, field) and problem.line == inv.sources[file].line_of((collection, 1, field))


def test_duplicate_node_names_across_clusters(inv: Inventory) -> None:
    (path0, first), (path1, second) = inv.clusters
    renamed = second.model_copy(update={"nodes": (second.nodes[0].model_copy(update={"name": first.nodes[0].name}), *second.nodes[1:])})
    (problem,) = check_names(dataclasses.replace(inv, clusters=[(path0, first), (path1, renamed)]))
    assert problem.message == f"duplicate node name '{first.nodes[0].name}' (first at clusters.0.nodes.0)"
    assert problem.file.endswith("datacenter.yaml") and problem.path == ("clusters", 1, "nodes", 0, "name")


def test_duplicate_host_name_points_at_the_vm(inv: Inventory) -> None:
    path, service = inv.services[1]
    first = inv.services[0][1].vms[0].instance_names()[0]
    vm = service.vms[0].model_copy(update={"name": first.rsplit("-", 1)[0] if service.vms[0].count > 1 else first})
    changed = dataclasses.replace(inv, services=replace_at(inv.services, 1, service.model_copy(update={"vms": (vm.model_copy(update={"count": inv.services[0][1].vms[0].count}), *service.vms[1:])})))
    found = [p for p in check_names(changed) if p.message.startswith("duplicate host name")]
    assert found and found[0].file.endswith("services.yaml") and found[0].path == ("services", 1, "vms", 0, "name")


@pytest.mark.parametrize(("a", "b"), [("communes", "agencies"), ("districts", "communes")])
def test_site_keys_are_shared_by_districts_communes_and_agencies(inv: Inventory, a: str, b: str) -> None:
    slug = getattr(inv, a)[0][1].slug
    items = getattr(inv, b)
    changed = dataclasses.replace(inv, **{b: replace_at(items, 0, items[0][1].model_copy(update={"slug": slug}))})
    assert f"site key '{slug}' is used by 2 sites (district, commune and agency slugs must differ)" in messages(check_names, changed)


def test_a_problem_without_its_file_still_names_it(inv: Inventory) -> None:
    bare = dataclasses.replace(inv, sources={}, services=[*inv.services, (("services", 99), inv.services[0][1])])
    problem = next(p for p in check_names(bare) if p.message.startswith("duplicate service name"))
    assert (problem.file, problem.path, problem.line) == ("services.yaml", ("services", 99, "name"), None)


def located(check, inv: Inventory) -> list[tuple[str, str, str]]:
    """Each problem as (file name, key, message)."""
    return [(p.file.rsplit("/", 1)[-1], format_path(p.path), p.message) for p in check(inv)]


def test_reference_problems_point_at_their_key(inv: Inventory) -> None:
    commune = inv.communes[0][1].model_copy(update={"district": "999"})
    assert located(check_references, dataclasses.replace(inv, communes=replace_at(inv.communes, 0, commune))) == [
        ("province.yaml", "communes[0].district", "unknown district code '999'")]
    device = inv.devices[0][1].model_copy(update={"site": "nowhere", "credentials": "nobody"})
    assert located(check_references, dataclasses.replace(inv, devices=replace_at(inv.devices, 0, device))) == [
        ("network.yaml", "devices[0].site", "unknown site 'nowhere'"),
        ("network.yaml", "devices[0].credentials", "unknown credential reference 'nobody' (see credentials.yaml)")]
    path, link = inv.links[0]
    both = link.model_copy(update={"a": m.LinkEnd(device="ghost-a", port=0), "b": m.LinkEnd(device="ghost-b", port=0)})
    assert located(check_references, dataclasses.replace(inv, links=replace_at(inv.links, 0, both))) == [
        ("network.yaml", "links[0].a.device", "link end names unknown device 'ghost-a'"),
        ("network.yaml", "links[0].b.device", "link end names unknown device 'ghost-b'")]
    again = m.Link(a=m.LinkEnd(device=inv.links[1][1].b.device, port=40), b=m.LinkEnd(device=link.a.device, port=link.a.port))
    assert located(check_references, dataclasses.replace(inv, links=[*inv.links, (("links", 999), again)])) == [
        ("network.yaml", "links[999].b.port", f"port {link.a.port} of {link.a.device} is already used by links.0")]
    lan = next(d for _, d in inv.devices if d.lan_port is not None)
    on_lan = m.Link(a=m.LinkEnd(device="core-iic", port=60), b=m.LinkEnd(device=lan.name, port=lan.lan_port))
    assert located(check_references, dataclasses.replace(inv, links=[*inv.links, (("links", 999), on_lan)])) == [
        ("network.yaml", "links[999].b.port", f"port {lan.lan_port} of {lan.name} is its LAN port")]
    loop = m.Link(a=m.LinkEnd(device="core-iic", port=61), b=m.LinkEnd(device="core-iic", port=62))
    assert located(check_references, dataclasses.replace(inv, links=[*inv.links, (("links", 999), loop)])) == [
        ("network.yaml", "links[999]", "a link cannot join a device to itself")]


def test_data_center_and_service_problems_point_at_their_key(inv: Inventory) -> None:
    dc = dataclasses.replace(inv, datacenter=inv.datacenter.model_copy(update={"district": "998"}))
    assert located(check_references, dc) == [("datacenter.yaml", "datacenter.district", "unknown district code '998'")]
    path, cluster = inv.clusters[0]
    vlans = dataclasses.replace(inv, clusters=replace_at(inv.clusters, 0, cluster.model_copy(update={"vlans": (*cluster.vlans, 4000)})))
    assert located(check_references, vlans) == [("datacenter.yaml", f"clusters[0].vlans[{len(cluster.vlans)}]", "unknown VLAN 4000")]
    path, service = inv.services[0]
    # two services: the first names no cluster (its VMs are not checked further), the second is checked
    gone = service.model_copy(update={"cluster": "pve-nowhere"})
    spec = inv.services[1][1].vms[0]
    bad = spec.model_copy(update={"disks": (m.VmDisk(storage="tape", size_gb=1),), "nics": (m.VmNic(vlan=4000),)})
    second = inv.services[1][1].model_copy(update={"vms": (bad, *inv.services[1][1].vms[1:])})
    bare = spec.model_copy(update={"nics": ()})
    third = inv.services[2][1].model_copy(update={"vms": (bare,), "cluster": second.cluster})
    changed = dataclasses.replace(inv, services=[(inv.services[0][0], gone), (inv.services[1][0], second), (inv.services[2][0], third), *inv.services[3:]])
    assert located(check_references, changed) == [
        ("services.yaml", "services[0].cluster", "unknown cluster 'pve-nowhere'"),
        ("services.yaml", "services[1].vms[0].disks[0].storage", f"cluster {second.cluster} has no storage 'tape'"),
        ("services.yaml", "services[1].vms[0].nics[0].vlan", f"VLAN 4000 is not carried by cluster {second.cluster}"),
        ("services.yaml", "services[2].vms[0].nics", "a VM needs at least one NIC")]


def test_cpe_problems_point_at_their_key(inv: Inventory) -> None:
    index, cpe = next((i, d) for i, (_, d) in enumerate(inv.devices) if d.role == m.Role.commune_cpe)
    c_index, commune = next((i, c) for i, (_, c) in enumerate(inv.communes) if c.slug == cpe.site)
    without = dataclasses.replace(inv, devices=[d for i, d in enumerate(inv.devices) if i != index])
    assert located(check_one_cpe_per_commune, without) == [
        ("province.yaml", f"communes[{c_index}]", f"commune {commune.code} {commune.name} has no commune_cpe device in network.yaml")]
    at_district = cpe.model_copy(update={"name": cpe.name + "-b", "site": inv.districts[0][1].slug})
    assert located(check_one_cpe_per_commune, dataclasses.replace(inv, devices=[*inv.devices, (("devices", 999), at_district)])) == [
        ("network.yaml", "devices[999].site", "a commune_cpe must sit at a commune, not a district")]


def test_every_kind_of_allocation_is_expected(inv: Inventory) -> None:
    """One missing allocation of each purpose, named by what needs it."""
    device = next(d for d in inv.device_by_name.values() if d.lan_port is not None and d.role != m.Role.firewall)
    link = inv.links_in_env[0]
    vlan = next(iter(inv.vlan_by_id))
    node = inv.clusters[0][1].nodes[0].name
    vm = inv.vms()[0].name
    plan = copy.deepcopy(inv.plan)
    for purpose, key in (("mgmt", device.name), ("loopback", device.name), ("lan", device.site), ("p2p", link.id), ("dc", f"vlan-{vlan}"), ("hosts", node), ("hosts", vm)):
        del plan.pools[purpose].allocations[key]
    found = [(k, msg) for _, k, msg in located(check_addressing, dataclasses.replace(inv, plan=plan))]
    run = "(run 'hatang inventory allocate --env lab')"
    for purpose, what in (("mgmt", f"device {device.name}"), ("loopback", f"device {device.name}"), ("lan", f"site {device.site} (LAN of {device.name})"),
                          ("p2p", f"link {link.id}"), ("dc", f"VLAN {vlan}"), ("hosts", f"node {node}"), ("hosts", f"VM {vm}")):
        assert (f"allocations.{purpose}", f"no address for {what} {run}") in found
    firewall = next((d for d in inv.device_by_name.values() if d.role == m.Role.firewall), None)
    if firewall is not None:  # a firewall has no loopback to allocate
        plan = copy.deepcopy(inv.plan)
        plan.pools["loopback"].allocations.pop(firewall.name, None)
        assert not [p for p in check_addressing(dataclasses.replace(inv, plan=plan)) if f"device {firewall.name}" in p.message]
