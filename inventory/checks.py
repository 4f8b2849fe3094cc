"""Semantic checks of a loaded inventory: names, references, addressing, fit.

Each check yields :class:`Problem` objects pointing at the key that is wrong; the
loader reports them all at once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from ipaddress import IPv4Network
from typing import TYPE_CHECKING

from hatang.inventory import model as m
from hatang.inventory import reorganisation
from hatang.inventory.addressing import overlapping
from hatang.inventory.yamlsource import KeyPath, Problem

if TYPE_CHECKING:
    from hatang.inventory.inventory import Inventory


def _at(inv: Inventory, file: str, path: KeyPath, message: str) -> Problem:
    source = inv.sources.get(file)
    if source is None:
        return Problem(file, path, message)
    return source.problem(path, message)


def _unique(inv: Inventory, file: str, items: Iterable[tuple[KeyPath, object]], key: Callable[[object], object], what: str, field: str) -> Iterator[Problem]:
    first: dict[object, KeyPath] = {}
    for path, item in items:
        value = key(item)
        if value in first:
            yield _at(inv, file, (*path, field), f"duplicate {what} {value!r} (first at {'.'.join(map(str, first[value]))})")
        else:
            first[value] = path


def check_names(inv: Inventory) -> Iterator[Problem]:
    yield from _unique(inv, "province.yaml", inv.districts, lambda d: d.code, "district code", "code")
    yield from _unique(inv, "province.yaml", inv.districts, lambda d: d.slug, "district slug", "slug")
    yield from _unique(inv, "province.yaml", inv.communes, lambda c: c.code, "commune code", "code")
    yield from _unique(inv, "province.yaml", inv.communes, lambda c: c.slug, "commune slug", "slug")
    yield from _unique(inv, "agencies.yaml", inv.agencies, lambda a: a.slug, "agency slug", "slug")
    yield from _unique(inv, "network.yaml", inv.devices, lambda d: d.name, "device name", "name")
    yield from _unique(inv, "network.yaml", inv.links, lambda link: frozenset((link.a.device, link.b.device)), "link between", "b")
    yield from _unique(inv, "datacenter.yaml", inv.vlans, lambda v: v.id, "VLAN id", "id")
    yield from _unique(inv, "datacenter.yaml", inv.clusters, lambda c: c.name, "cluster name", "name")
    nodes = [((*path, "nodes", i), node) for path, c in inv.clusters for i, node in enumerate(c.nodes)]
    yield from _unique(inv, "datacenter.yaml", nodes, lambda n: n.name, "node name", "name")
    yield from _unique(inv, "services.yaml", inv.services, lambda s: s.name, "service name", "name")
    yield from _unique(inv, "services.yaml", inv.backup_policies, lambda p: p.service_class, "backup policy for class", "class")
    seen: dict[str, KeyPath] = {}
    for path, service in inv.services:
        for i, spec in enumerate(service.vms):
            for name in spec.instance_names():
                if name in seen or name in {n.name for _, n in nodes}:
                    yield _at(inv, "services.yaml", (*path, "vms", i, "name"), f"duplicate host name {name!r}")
                seen[name] = (*path, "vms", i)
    sites = Counter(s for s in [*(d.slug for _, d in inv.districts), *(c.slug for _, c in inv.communes), *(a.slug for _, a in inv.agencies)])
    for slug, count in sites.items():
        if count > 1 and slug:
            yield Problem("province.yaml", (), f"site key {slug!r} is used by {count} sites (district, commune and agency slugs must differ)")


def check_references(inv: Inventory) -> Iterator[Problem]:
    for path, commune in inv.communes:
        if commune.district not in inv.district_by_code:
            yield _at(inv, "province.yaml", (*path, "district"), f"unknown district code {commune.district!r}")
    devices = {d.name: d for _, d in inv.devices}
    for path, device in inv.devices:
        if device.site not in inv.sites:
            yield _at(inv, "network.yaml", (*path, "site"), f"unknown site {device.site!r}")
        if device.credentials not in inv.credentials:
            yield _at(inv, "network.yaml", (*path, "credentials"), f"unknown credential reference {device.credentials!r} (see credentials.yaml)")
    ports: dict[tuple[str, int], KeyPath] = {}
    for path, link in inv.links:
        for end_name, end in (("a", link.a), ("b", link.b)):
            if end.device not in devices:
                yield _at(inv, "network.yaml", (*path, end_name, "device"), f"link end names unknown device {end.device!r}")
                continue
            taken = ports.get((end.device, end.port))
            if taken:
                yield _at(inv, "network.yaml", (*path, end_name, "port"), f"port {end.port} of {end.device} is already used by {'.'.join(map(str, taken))}")
            ports[(end.device, end.port)] = path
            for key, what in (("lan_port", "LAN port"), ("mgmt_lan_port", "management LAN port")):
                if getattr(devices[end.device], key) == end.port:
                    yield _at(inv, "network.yaml", (*path, end_name, "port"), f"port {end.port} of {end.device} is its {what}")
        if link.a.device == link.b.device:
            yield _at(inv, "network.yaml", path, "a link cannot join a device to itself")
    for path, device in inv.devices:
        if device.mgmt_lan_port is not None and device.role != m.Role.core:
            yield _at(inv, "network.yaml", (*path, "mgmt_lan_port"), f"only the core carries the IIC management network into the WAN, not a {device.role.value}")
    in_band = [d.name for d in inv.device_by_name.values() if inv.in_band(d)]
    if in_band and not any(d.mgmt_lan_port is not None for d in inv.device_by_name.values() if d.role == m.Role.core):
        yield Problem("network.yaml", (), f"{len(in_band)} device(s) are managed in band (e.g. {in_band[0]}) but no core has a 'mgmt_lan_port' to carry the IIC management network into the WAN")
    yield from _check_area_references(inv)
    if inv.datacenter and inv.datacenter.district not in inv.district_by_code:
        yield _at(inv, "datacenter.yaml", ("datacenter", "district"), f"unknown district code {inv.datacenter.district!r}")
    if inv.datacenter:
        vms = {vm.name for vm in inv.vms()}
        servers = [(("ntp_servers", i), name) for i, name in enumerate(inv.datacenter.ntp_servers)]
        for where, name in [*servers, (("syslog_server",), inv.datacenter.syslog_server)]:
            if name not in vms:
                yield _at(inv, "datacenter.yaml", ("datacenter", *where), f"server {name!r} is no VM of services.yaml")
    for path, cluster in inv.clusters:
        for i, vlan in enumerate(cluster.vlans):
            if vlan not in inv.vlan_by_id:
                yield _at(inv, "datacenter.yaml", (*path, "vlans", i), f"unknown VLAN {vlan}")
    for path, service in inv.services:
        cluster = inv.cluster_by_name.get(service.cluster)
        if cluster is None:
            yield _at(inv, "services.yaml", (*path, "cluster"), f"unknown cluster {service.cluster!r}")
            continue
        storages = {s.name for s in cluster.storage}
        for i, spec in enumerate(service.vms):
            for j, disk in enumerate(spec.disks):
                if disk.storage not in storages:
                    yield _at(inv, "services.yaml", (*path, "vms", i, "disks", j, "storage"), f"cluster {cluster.name} has no storage {disk.storage!r}")
            for j, nic in enumerate(spec.nics):
                if nic.vlan not in cluster.vlans:
                    yield _at(inv, "services.yaml", (*path, "vms", i, "nics", j, "vlan"), f"VLAN {nic.vlan} is not carried by cluster {cluster.name}")
            if not spec.nics:
                yield _at(inv, "services.yaml", (*path, "vms", i, "nics"), "a VM needs at least one NIC")


def _check_area_references(inv: Inventory) -> Iterator[Problem]:
    """In the merged province every district names its area (former province), and an
    area's data center stands in one of its own districts."""
    if not inv.areas:
        return
    for path, district in inv.districts:
        if district.area not in inv.area_by_slug:
            yield _at(inv, "province.yaml", (*path, "area"), f"district {district.code} {district.name}: area {district.area!r} is none of the areas ({', '.join(inv.area_by_slug)})")
    for path, area in inv.areas:
        district = inv.district_by_code.get(area.district)
        if district is None or district.area != area.slug:
            yield _at(inv, "province.yaml", (*path, "district"), f"area {area.slug}: its data center's district {area.district!r} is not one of its districts")


def check_one_cpe_per_commune(inv: Inventory) -> Iterator[Problem]:
    cpes: dict[str, list[str]] = defaultdict(list)
    for device in inv.device_by_name.values():
        if device.role == m.Role.commune_cpe:
            cpes[device.site].append(device.name)
    for path, commune in inv.communes:
        found = cpes.get(commune.slug, [])
        if not found:
            yield _at(inv, "province.yaml", path, f"commune {commune.code} {commune.name} has no commune_cpe device in network.yaml")
        elif len(found) > 1:
            yield _at(inv, "province.yaml", path, f"commune {commune.code} {commune.name} has {len(found)} CPEs: {', '.join(sorted(found))}")
    for path, device in inv.devices:
        if device.role == m.Role.commune_cpe and inv.sites.get(device.site) and inv.sites[device.site].kind != "commune":
            yield _at(inv, "network.yaml", (*path, "site"), f"a commune_cpe must sit at a commune, not a {inv.sites[device.site].kind}")


def _expected_allocations(inv: Inventory) -> Iterator[tuple[str, str, str]]:
    """(purpose, key, what) for every allocation this environment needs."""
    for device in inv.device_by_name.values():
        yield "mgmt", device.name, f"device {device.name}"
        if device.role != m.Role.firewall:
            yield "loopback", device.name, f"device {device.name}"
        if device.lan_port is not None:
            yield "lan", device.site, f"site {device.site} (LAN of {device.name})"
    for link in inv.links_in_env:
        yield "p2p", link.id, f"link {link.id}"
    for vlan in inv.vlan_by_id:
        yield "dc", f"vlan-{vlan}", f"VLAN {vlan}"
    for _, cluster in inv.clusters:
        for node in cluster.nodes:
            yield "hosts", node.name, f"node {node.name}"
    for vm in inv.vms():
        yield "hosts", vm.name, f"VM {vm.name}"


def check_addressing(inv: Inventory) -> Iterator[Problem]:
    if inv.plan is None:
        return
    file = inv.plan_source.file if inv.plan_source else f"addressing/{inv.env}.yaml"
    at = lambda path, message: inv.plan_source.problem(path, message) if inv.plan_source else Problem(file, path, message)  # noqa: E731
    for purpose, key, what in _expected_allocations(inv):
        if key not in inv.plan.pool(purpose).allocations:
            yield at(("allocations", purpose), f"no address for {what} (run 'hatang inventory allocate --env {inv.env}')")
    owned = [
        (f"{purpose}:{key}", prefix)
        for purpose, pool in inv.plan.pools.items()
        if purpose not in ("hosts",)
        for key, prefix in pool.allocations.items()
    ]
    for first, second in overlapping(owned):
        purpose, _, key = second.partition(":")
        yield at(("allocations", purpose, key), f"prefix of {second} overlaps {first}")
    vlan_prefixes: list[IPv4Network] = [inv.plan.pool("dc").allocations[f"vlan-{v}"] for v in inv.vlan_by_id if f"vlan-{v}" in inv.plan.pool("dc").allocations]
    for key, prefix in inv.plan.pool("hosts").allocations.items():
        if not any(prefix.subnet_of(v) for v in vlan_prefixes):
            yield at(("allocations", "hosts", key), f"{prefix} is in no data-center VLAN prefix")
    yield from _check_areas(inv, at)
    if inv.env == "lab":
        lab_range = IPv4Network("198.18.0.0/15")
        for purpose, pool in inv.plan.pools.items():
            for supernet in pool.supernets():
                if not supernet.subnet_of(lab_range):
                    yield at(("supernets", purpose), f"{supernet} is outside the lab range {lab_range}")


AREA_PURPOSES = ("loopback", "p2p", "lan")


def _check_areas(inv: Inventory, at: Callable[[KeyPath, str], Problem]) -> Iterator[Problem]:
    """The merged province: every area has its own WAN supernets (their not overlapping
    is the plan's own check) and each WAN allocation lies in its area's supernet."""
    known = set(inv.area_by_slug)
    for purpose, pool in inv.plan.pools.items():
        for area in pool.areas:
            if area not in known or area == inv.home_area:
                why = "the home area's supernet is 'prefix'" if area == inv.home_area else f"areas in province.yaml: {', '.join(sorted(known)) or 'none'}"
                yield at(("supernets", purpose, "areas", area), f"unknown area {area!r} ({why})")
    if not known:
        return
    for purpose in AREA_PURPOSES:
        pool = inv.plan.pool(purpose)
        for area in sorted(known - {inv.home_area} - set(pool.areas)):
            yield at(("supernets", purpose, "areas"), f"area {area!r} has no {purpose} supernet of its own")
    for purpose, key, what in _expected_allocations(inv):
        if purpose not in AREA_PURPOSES or key not in inv.plan.pool(purpose).allocations:
            continue
        area = inv.allocation_area(purpose, key)
        supernet = inv.plan.pool(purpose).supernet_of(area)
        prefix = inv.plan.pool(purpose).allocations[key]
        if area and not prefix.subnet_of(supernet):
            yield at(("allocations", purpose, key), f"{prefix} of {what} is outside the {purpose} supernet {supernet} of its area {area!r}")


def check_fit(inv: Inventory) -> Iterator[Problem]:
    """Every service's VMs fit their cluster: each VM on its largest node, all VMs in
    the cluster's RAM (never overcommitted) and storage, each anti-affinity group
    spread over distinct nodes."""
    demand: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    groups: dict[tuple[str, str], int] = defaultdict(int)
    for path, service in inv.services:
        cluster = inv.cluster_by_name.get(service.cluster)
        if cluster is None:
            continue
        biggest_ram = max(n.ram_gib for n in cluster.nodes) * 1024
        biggest_threads = max(n.cores * n.threads_per_core for n in cluster.nodes)
        for i, spec in enumerate(service.vms):
            where = (*path, "vms", i)
            if spec.memory_mib > biggest_ram:
                yield _at(inv, "services.yaml", (*where, "memory_mib"), f"{spec.memory_mib} MiB is more than the largest node of {cluster.name} has")
            if spec.cores > biggest_threads:
                yield _at(inv, "services.yaml", (*where, "cores"), f"{spec.cores} vCPU is more than the largest node of {cluster.name} has")
            demand[cluster.name]["ram_mib"] += spec.memory_mib * spec.count
            for disk in spec.disks:
                demand[cluster.name][f"disk:{disk.storage}"] += disk.size_gb * spec.count
            if spec.anti_affinity:
                groups[(cluster.name, spec.anti_affinity)] += spec.count
    for path, cluster in inv.clusters:
        need = demand.get(cluster.name, {})
        ram = sum(n.ram_gib for n in cluster.nodes) * 1024
        if need.get("ram_mib", 0) > ram:
            yield _at(inv, "datacenter.yaml", path, f"cluster {cluster.name}: its VMs need {need['ram_mib'] / 1024:.0f} GiB of RAM, it has {ram / 1024:.0f} GiB")
        for storage in cluster.storage:
            usable = usable_storage_gb(cluster, storage)
            wanted = need.get(f"disk:{storage.name}", 0)
            if usable is not None and wanted > usable:
                why = f" ({storage.failure_domain}s too few for its copies: cannot re-replicate)" if usable == 0 else ""
                yield _at(inv, "datacenter.yaml", path, f"cluster {cluster.name}: storage {storage.name} needs {wanted:.0f} GB, usable {usable:.0f} GB{why}")
        for (cluster_name, group), size in groups.items():
            if cluster_name == cluster.name and size > len(cluster.nodes):
                yield _at(inv, "datacenter.yaml", path, f"anti-affinity group {group!r} has {size} members but cluster {cluster.name} has {len(cluster.nodes)} nodes")


def usable_storage_gb(cluster: m.Cluster, storage: m.Storage) -> float | None:
    """Usable capacity with every node up, by the capacity planner's failure model (one
    definition: Ceph copies in distinct failure domains, below the near-full ratio);
    None when the storage has no disks."""
    from hatang.cloud.capacity.storage import pool_capacity

    pool = pool_capacity(storage, cluster.nodes)
    return pool.usable_gb if pool.raw_gb else None


CHECKS = (check_names, check_references, check_one_cpe_per_commune, check_addressing, check_fit, reorganisation.check)


def check_inventory(inv: Inventory) -> list[Problem]:
    problems: list[Problem] = []
    for check in CHECKS:
        problems.extend(check(inv))
    return problems
