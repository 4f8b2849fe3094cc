"""The loaded inventory of one environment, and the questions every room asks of it.

Records are as written in the YAML; this class joins them with the environment's
address plan: a device's platform here, its management address, loopback and ports
with their interface names and addresses. Nothing here talks to a device.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from hatang.errors import InventoryError
from hatang.inventory import model as m
from hatang.inventory.addressing import AddressPlan
from hatang.inventory.yamlsource import KeyPath, Source

if TYPE_CHECKING:
    from hatang.inventory.reorganisation import Reorganisation

SiteKind = Literal["datacenter", "district", "commune", "agency"]
LabSize = Literal["small", "district", "province", "merged"]
#: ``merged`` is every router of the merged province (its own inventory, see
#: :data:`hatang.paths.MERGED_INVENTORY`); ``province`` every router of the inventory.
LAB_SIZES: tuple[str, ...] = ("small", "district", "province", "merged")

INTERFACE_NAMES = {
    m.Platform.frr: ("eth{port}", "mgmt0", "lo"),
    m.Platform.ios: ("GigabitEthernet0/0/{port}", "GigabitEthernet0", "Loopback0"),
    m.Platform.eos: ("Ethernet{port1}", "Management1", "Loopback0"),
    m.Platform.junos: ("ge-0/0/{port}", "fxp0", "lo0"),
    m.Platform.huawei_vrp: ("GigabitEthernet0/0/{port}", "MEth0/0/1", "LoopBack0"),
}


#: A role's management mode unless the device says otherwise: nothing but the WAN reaches
#: a district or a commune; the data center's devices sit on the IIC management network.
MANAGEMENT_BY_ROLE = {
    m.Role.core: m.Management.out_of_band,
    m.Role.firewall: m.Management.out_of_band,
    m.Role.district: m.Management.in_band,
    m.Role.commune_cpe: m.Management.in_band,
}


def interface_name(platform: m.Platform, port: int) -> str:
    """The platform's name for a numbered front-panel port."""
    return INTERFACE_NAMES[platform][0].format(port=port, port1=port + 1)


def mgmt_interface_name(platform: m.Platform) -> str:
    return INTERFACE_NAMES[platform][1]


def loopback_interface_name(platform: m.Platform) -> str:
    return INTERFACE_NAMES[platform][2]


@dataclass(frozen=True)
class Site:
    key: str
    kind: SiteKind
    name: str
    code: str | None = None
    district: str | None = None  # district GSO code


@dataclass(frozen=True)
class Port:
    """One port of a device as the environment numbers it."""

    index: int
    name: str
    kind: Literal["uplink", "downlink", "lan", "mgmt-lan"]
    address: IPv4Interface
    link: m.Link | None = None
    peer: str | None = None
    peer_address: IPv4Interface | None = None
    bandwidth_mbps: int = 1000


@dataclass(frozen=True)
class LinuxHost:
    """A server hatang deploys to: a Proxmox node or a service VM."""

    name: str
    address: IPv4Interface
    kind: Literal["pve-node", "vm"]
    groups: tuple[str, ...]
    roles: tuple[str, ...] = ()
    service: str | None = None
    cluster: str | None = None


@dataclass
class Inventory:
    directory: Path
    env: str
    province: m.Province | None
    districts: list[tuple[KeyPath, m.District]]
    communes: list[tuple[KeyPath, m.Commune]]
    agencies: list[tuple[KeyPath, m.Agency]]
    devices: list[tuple[KeyPath, m.Device]]
    links: list[tuple[KeyPath, m.Link]]
    datacenter: m.Datacenter | None
    vlans: list[tuple[KeyPath, m.Vlan]]
    clusters: list[tuple[KeyPath, m.Cluster]]
    services: list[tuple[KeyPath, m.Service]]
    backup_policies: list[tuple[KeyPath, m.BackupPolicy]]
    credentials: dict[str, m.CredentialRef]
    plan: AddressPlan | None
    sources: dict[str, Source] = field(default_factory=dict)
    plan_source: Source | None = None
    reorganisation: Reorganisation | None = None
    areas: list[tuple[KeyPath, m.Area]] = field(default_factory=list)

    # --- lookups ------------------------------------------------------------------

    @cached_property
    def district_by_code(self) -> dict[str, m.District]:
        return {d.code: d for _, d in self.districts}

    @cached_property
    def commune_by_code(self) -> dict[str, m.Commune]:
        return {c.code: c for _, c in self.communes}

    @cached_property
    def device_by_name(self) -> dict[str, m.Device]:
        """The devices present in this environment."""
        return {d.name: d for _, d in self.devices if self.env in d.environments}

    @cached_property
    def cluster_by_name(self) -> dict[str, m.Cluster]:
        return {c.name: c for _, c in self.clusters}

    @cached_property
    def backup_policy_by_class(self) -> dict[str, m.BackupPolicy]:
        return {p.service_class: p for _, p in self.backup_policies}

    @cached_property
    def service_by_name(self) -> dict[str, m.Service]:
        return {s.name: s for _, s in self.services}

    @cached_property
    def vlan_by_id(self) -> dict[int, m.Vlan]:
        return {v.id: v for _, v in self.vlans}

    @cached_property
    def area_by_slug(self) -> dict[str, m.Area]:
        return {a.slug: a for _, a in self.areas}

    @cached_property
    def home_area(self) -> str | None:
        """The area of the IIC's own data center (datacenter.yaml): its supernets are the
        plan's ``prefix``es, the other areas' are listed under ``areas``."""
        site = self.datacenter.site if self.datacenter else None
        return next((a.slug for a in self.area_by_slug.values() if a.datacenter == site), None)

    def area_of_site(self, site: str) -> str | None:
        """The former province a site belongs to (None in an inventory without areas)."""
        for area in self.area_by_slug.values():
            if area.datacenter == site:
                return area.slug
        known = self.sites.get(site)
        district = self.district_by_code.get(known.district) if known and known.district else None
        return district.area if district else None

    def allocation_area(self, purpose: str, key: str) -> str | None:
        """The area whose supernet holds the WAN allocation ``key`` of ``purpose``: a
        device's loopback, a site's LAN, a link's /31 (the downstream end's area)."""
        if purpose == "loopback" and key in self.device_by_name:
            return self.area_of_site(self.device_by_name[key].site)
        if purpose == "lan":
            return self.area_of_site(key)
        if purpose == "p2p":
            link = self._link_by_id.get(key)
            return self.area_of_site(self.device_by_name[link.b.device].site) if link else None
        return None

    @cached_property
    def sites(self) -> dict[str, Site]:
        sites: dict[str, Site] = {}
        if self.datacenter:
            sites[self.datacenter.site] = Site(self.datacenter.site, "datacenter", self.datacenter.name, None, self.datacenter.district)
        for _, area in self.areas:
            if area.datacenter not in sites:
                sites[area.datacenter] = Site(area.datacenter, "datacenter", f"Data center, former {area.name}", None, area.district)
        for _, d in self.districts:
            sites[d.slug] = Site(d.slug, "district", d.name, d.code, d.code)
        for _, c in self.communes:
            sites[c.slug] = Site(c.slug, "commune", c.name, c.code, c.district)
        for _, a in self.agencies:
            sites[a.slug] = Site(a.slug, "agency", a.name)
        return sites

    @cached_property
    def links_in_env(self) -> list[m.Link]:
        present = self.device_by_name
        return [link for _, link in self.links if link.a.device in present and link.b.device in present]

    @cached_property
    def _link_by_id(self) -> dict[str, m.Link]:
        return {link.id: link for link in self.links_in_env}

    @cached_property
    def _links_of(self) -> dict[str, list[m.Link]]:
        by_device: dict[str, list[m.Link]] = defaultdict(list)
        for link in self.links_in_env:
            by_device[link.a.device].append(link)
            by_device[link.b.device].append(link)
        return by_device

    @cached_property
    def devices_by_site(self) -> dict[str, list[m.Device]]:
        by_site: dict[str, list[m.Device]] = defaultdict(list)
        for device in self.device_by_name.values():
            by_site[device.site].append(device)
        return by_site

    def device(self, name: str) -> m.Device:
        try:
            return self.device_by_name[name]
        except KeyError:
            raise InventoryError(f"unknown device '{name}' in environment '{self.env}'") from None

    def find_site(self, query: str) -> Site:
        """A site by its key (slug), a commune or district GSO code, or a device's name."""
        if query in self.sites:
            return self.sites[query]
        for site in self.sites.values():
            if site.code == query:
                return site
        if query in self.device_by_name:
            return self.sites[self.device_by_name[query].site]
        raise InventoryError(f"unknown site '{query}': give a site slug, a GSO code or a device name (see 'hatang inventory show')")

    def devices_at(self, query: str) -> list[m.Device]:
        if query in self.device_by_name:
            return [self.device_by_name[query]]
        return list(self.devices_by_site.get(self.find_site(query).key, []))

    # --- environment view ---------------------------------------------------------

    def platform(self, device: m.Device | str) -> m.Platform:
        """The device's platform here: its own in production, FRRouting in the lab."""
        device = self.device(device) if isinstance(device, str) else device
        return m.Platform.frr if self.env == "lab" else device.platform

    def _require_plan(self) -> AddressPlan:
        if self.plan is None:
            raise InventoryError(f"environment '{self.env}' has no address plan")
        return self.plan

    def _allocated(self, purpose: str, key: str) -> IPv4Network:
        try:
            return self._require_plan().pool(purpose).allocations[key]
        except KeyError:
            raise InventoryError(
                f"no '{purpose}' address allocated for '{key}' in environment '{self.env}' "
                f"(run 'hatang inventory allocate --env {self.env}')"
            ) from None

    def loopback(self, device: str) -> IPv4Address:
        return self._allocated("loopback", device).network_address

    def management(self, device: m.Device | str) -> m.Management:
        """How hatang reaches ``device``: its own ``management`` key, else its role's."""
        device = self.device(device) if isinstance(device, str) else device
        return device.management or MANAGEMENT_BY_ROLE[device.role]

    def in_band(self, device: m.Device | str) -> bool:
        return self.management(device) == m.Management.in_band

    def mgmt(self, device: str) -> IPv4Interface:
        """Where hatang reaches the device: its loopback (/32) when managed in band, else
        its address on the IIC management network (with that subnet's prefix length)."""
        if self.in_band(device):
            return IPv4Interface((self.loopback(device), 32))
        return self.oob_mgmt(device)

    def oob_mgmt(self, device: str) -> IPv4Interface:
        """The device's allocation on the IIC management network (its out-of-band port)."""
        address = self._allocated("mgmt", device).network_address
        return IPv4Interface((address, self.mgmt_network().prefixlen))

    def mgmt_network(self) -> IPv4Network:
        """The IIC management network: the only source SSH and SNMP are accepted from."""
        return self._require_plan().pool("mgmt").supernet

    def inband_router(self) -> tuple[str, IPv4Interface]:
        """(the core, its address on the IIC management network): the in-band path into
        the WAN. The address is the one after the gateway, in the subnet's reserved
        first /30 (network, hatang's gateway, this router, spare)."""
        core = next((d for d in self.routers() if d.role == m.Role.core and d.mgmt_lan_port is not None), None)
        if core is None:
            raise InventoryError("network.yaml: in-band management needs the core's 'mgmt_lan_port' (its port on the IIC management network)")
        return core.name, self._inband_router_address()

    def _inband_router_address(self) -> IPv4Interface:
        return IPv4Interface((self.mgmt_gateway() + 1, self.mgmt_network().prefixlen))

    def wan_prefixes(self) -> list[IPv4Network]:
        """The WAN's address pools (loopbacks, links, site LANs): what the management
        network routes through the core."""
        plan = self._require_plan()
        return [supernet for purpose in ("loopback", "p2p", "lan") for supernet in plan.pool(purpose).supernets()]

    def mgmt_gateway(self) -> IPv4Address:
        """The management network's gateway: where hatang (or the lab host) sits."""
        plan = self._require_plan()
        if plan.gateway is None:
            raise InventoryError(f"the '{self.env}' address plan has no management gateway")
        return plan.gateway

    def link_prefix(self, link: m.Link) -> IPv4Network:
        return self._allocated("p2p", link.id)

    def link_addresses(self, link: m.Link) -> tuple[IPv4Interface, IPv4Interface]:
        """The a-end and b-end addresses of a /31 link (a is the upstream end)."""
        prefix = self.link_prefix(link)
        first = prefix.network_address
        return IPv4Interface((first, prefix.prefixlen)), IPv4Interface((first + 1, prefix.prefixlen))

    def lan(self, site: str) -> IPv4Network:
        return self._allocated("lan", site)

    def links_of(self, device: str) -> list[m.Link]:
        return list(self._links_of.get(device, []))

    def ports(self, device_name: str) -> list[Port]:
        """The device's WAN ports (uplink first, then downlinks) and its LAN port, by index."""
        device = self.device(device_name)
        platform = self.platform(device)
        ports: list[Port] = []
        for link in self._links_of.get(device_name, []):
            a_addr, b_addr = self.link_addresses(link)
            mine, theirs = (link.a, link.b) if link.a.device == device_name else (link.b, link.a)
            upstream = link.b.device == device_name
            ports.append(
                Port(
                    index=mine.port,
                    name=interface_name(platform, mine.port),
                    kind="uplink" if upstream else "downlink",
                    address=b_addr if upstream else a_addr,
                    link=link,
                    peer=theirs.device,
                    peer_address=a_addr if upstream else b_addr,
                    bandwidth_mbps=link.bandwidth_mbps,
                )
            )
        if device.mgmt_lan_port is not None:
            ports.append(Port(index=device.mgmt_lan_port, name=interface_name(platform, device.mgmt_lan_port), kind="mgmt-lan",
                              address=self._inband_router_address()))
        if device.lan_port is not None:
            lan = self.lan(device.site)
            ports.append(
                Port(
                    index=device.lan_port,
                    name=interface_name(platform, device.lan_port),
                    kind="lan",
                    address=IPv4Interface((lan.network_address + 1, lan.prefixlen)),
                )
            )
        return sorted(ports, key=lambda p: p.index)

    def uplink(self, device: str) -> Port | None:
        return next((p for p in self.ports(device) if p.kind == "uplink"), None)

    def neighbors(self, device: str) -> list[str]:
        return [p.peer for p in self.ports(device) if p.peer]

    # --- selections ---------------------------------------------------------------

    def routers(self) -> list[m.Device]:
        """Routers in order core, districts, communes (each by name): the push order."""
        order = {m.Role.core: 0, m.Role.district: 1, m.Role.commune_cpe: 2, m.Role.firewall: 3}
        # the core carrying the management network first: the others are reached through it
        return sorted(
            (d for d in self.device_by_name.values() if d.role != m.Role.firewall),
            key=lambda d: (order[d.role], d.mgmt_lan_port is None, d.name),
        )

    def lab_devices(self, size: str) -> list[m.Device]:
        """The routers of a lab of ``size``: small (core, one district, three communes),
        district (core, one district, all its communes) or province (all)."""
        if size not in LAB_SIZES:
            raise InventoryError(f"unknown lab size '{size}' (known: {', '.join(LAB_SIZES)})")
        routers = self.routers()
        if size == "merged" and not self.areas:
            raise InventoryError(f"lab size 'merged' needs the merged province's inventory (areas in province.yaml); {self.directory} has none")
        if size in ("province", "merged"):
            return routers
        first_district = min(self.district_by_code.values(), key=lambda d: d.code)
        communes = sorted((c for c in self.commune_by_code.values() if c.district == first_district.code), key=lambda c: c.code)
        if size == "small":
            communes = communes[:3]
        keep_sites = {first_district.slug, *(c.slug for c in communes)}
        return [d for d in routers if d.role == m.Role.core or d.site in keep_sites]

    # --- the data center ----------------------------------------------------------

    def vms(self) -> list[m.Vm]:
        return [
            m.Vm(name=name, service=s.name, service_class=s.service_class, cluster=s.cluster, spec=spec, storage_sizing=s.storage_sizing)
            for _, s in self.services
            for spec in s.vms
            for name in spec.instance_names()
        ]

    def vlan_prefix(self, vlan: int) -> IPv4Network:
        return self._allocated("dc", f"vlan-{vlan}")

    def host_address(self, name: str, vlan: int) -> IPv4Interface:
        address = self._allocated("hosts", name).network_address
        return IPv4Interface((address, self.vlan_prefix(vlan).prefixlen))

    @cached_property
    def pve_mgmt_vlan(self) -> int:
        """The VLAN of the Proxmox nodes' management addresses (named ``pve-mgmt``)."""
        for vlan in self.vlan_by_id.values():
            if vlan.name == "pve-mgmt":
                return vlan.id
        raise InventoryError("datacenter.yaml: no VLAN named 'pve-mgmt' for the Proxmox nodes")

    def linux_hosts(self) -> list[LinuxHost]:
        hosts = [
            LinuxHost(
                name=node.name,
                address=self.host_address(node.name, self.pve_mgmt_vlan),
                kind="pve-node",
                groups=("pve_nodes", f"cluster_{cluster.name.replace('-', '_')}"),
                roles=("base", "proxmox-node"),
                cluster=cluster.name,
            )
            for _, cluster in self.clusters
            for node in cluster.nodes
        ]
        for vm in self.vms():
            hosts.append(
                LinuxHost(
                    name=vm.name,
                    address=self.host_address(vm.name, vm.spec.nics[0].vlan),
                    kind="vm",
                    groups=("vms", f"service_{vm.service.replace('-', '_')}"),
                    roles=("base", *vm.spec.roles),
                    service=vm.service,
                    cluster=vm.cluster,
                )
            )
        return hosts

    # --- summary ------------------------------------------------------------------

    def summary(self) -> dict:
        roles: dict[str, int] = defaultdict(int)
        for device in self.device_by_name.values():
            roles[device.role.value] += 1
        vms = self.vms()
        return {
            "environment": self.env,
            "province": self.province.name if self.province else None,
            "districts": len(self.districts),
            "communes": len(self.communes),
            "agencies": len(self.agencies),
            "devices": dict(sorted(roles.items())),
            "links": len(self.links_in_env),
            "clusters": len(self.clusters),
            "nodes": sum(len(c.nodes) for _, c in self.clusters),
            "services": len(self.services),
            "vms": len(vms),
            **({"communes_2025": self.reorganisation.status_counts()} if self.reorganisation else {}),
        }
