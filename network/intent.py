"""Inventory → intent: everything a router's configuration says, as plain data.

The intent is platform-neutral (addresses, areas, users, servers); the templates under
``templates/<platform>/<role>.j2`` only decide how each platform spells it. Routing is
OSPF: area 0 joins the IIC core and the district routers; each district is one area
(its id is the district's GSO code, 243 → 0.0.0.243) joining the district router (the
ABR) and its communes. WAN links are /31 point-to-point; loopbacks and LANs are
advertised, LANs passive. Districts and communes are managed in band, on their loopback
(there is no other circuit to them); the data center's devices out of band, on a
management port that is never in OSPF. The core carries the IIC management network into
OSPF (a passive port), so the in-band path leads through it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from hatang import credentials
from hatang.errors import InventoryError
from hatang.inventory import model as m
from hatang.inventory.reorganisation import display_name
from hatang.inventory.inventory import Inventory, Port, interface_name, loopback_interface_name, mgmt_interface_name
from hatang.network.hashing import password_hashes

BACKBONE = "0.0.0.0"
#: OSPF timers on WAN links: a new adjacency forms within a hello or two (pushes verify
#: it before confirming) and a lost uplink is noticed in 6 s — not less: a busy CPE
#: (or the lab's 146 routers on two cores) must not drop adjacencies by missing hellos.
OSPF_HELLO_S = 1
OSPF_DEAD_S = 6
#: A lost LSA is sent again after 1 s, not RFC 2328's 5 s (fast links, small RTT).
OSPF_RETRANSMIT_S = 1
#: SPF (delay, initial hold, max hold) and LSA throttling in ms: a province-sized WAN
#: converges in well under a second instead of FRR's default 5 s LSA hold. The max hold
#: is what a router waits between SPF runs while changes keep coming (a wave of communes
#: joining): 500 ms still caps SPF at two runs a second, on areas of under twenty
#: routers where a run takes microseconds; at 2 s, each wave's routes waited up to 2 s
#: per router on the path. Junos cannot hold down less than 2 s (its template clamps).
OSPF_SPF_MS = (0, 50, 500)
OSPF_LSA_THROTTLE_MS = 100
#: No MinLSArrival: a router re-originates its router-LSA the moment an adjacency turns
#: Full, milliseconds after its neighbour received the previous instance during the
#: database exchange; any MinLSArrival drops that new instance ("received recently") and
#: the route waits for a retransmission, 1-2 s. Originators still throttle (above).
OSPF_LSA_ARRIVAL_MS = 0
#: Reference bandwidth for link costs: 10 Gb/s costs 1, 1 Gb/s 10, 100 Mb/s 100.
OSPF_REFERENCE_MBPS = 10_000
#: The read-only account declared next to each device's admin credential.
READONLY_CREDENTIAL = "net-readonly"
SNMP_V3_CREDENTIAL = "snmp-v3"
SNMP_COMMUNITY_CREDENTIAL = "snmp-community"

BANNER_VI = (
    "CẢNH BÁO: Hệ thống mạng truyền số liệu chuyên dùng của {province}.",
    "Chỉ người được cấp quyền mới được truy cập. Mọi truy cập đều được ghi lại.",
)
BANNER_EN = (
    "WARNING: dedicated data network of {province} (IIC).",
    "Authorised access only. All access is logged and monitored.",
)


def ascii_fold(text: str) -> str:
    """Vietnamese without diacritics (Đ → D): for platforms whose CLI wants ASCII."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def area_id(district_code: str) -> str:
    """A district's OSPF area: its GSO code as a dotted number (243 → 0.0.0.243)."""
    return str(IPv4Address(int(district_code)))


def ospf_cost(bandwidth_mbps: int) -> int:
    return max(1, OSPF_REFERENCE_MBPS // bandwidth_mbps)


def wildcard(network: IPv4Network) -> str:
    return str(network.hostmask)


@dataclass
class SecretResolver:
    """Resolves credential fields once per run (the same value serves every device)."""

    env: str
    lookup: Callable[..., str] = credentials.secret
    _cache: dict[tuple[str, str], str] = field(default_factory=dict)

    def values(self) -> list[str]:
        """Every secret value looked up so far, user names aside (for redaction)."""
        return [value for (_, name), value in self._cache.items() if name != "username"]

    def __call__(self, ref: str, name: str) -> str:
        key = (ref, name)
        if key not in self._cache:
            self._cache[key] = self.lookup(ref, name, env=self.env)
        return self._cache[key]


def _user(resolve: SecretResolver, ref: str, privilege: int, role: str) -> dict[str, Any]:
    password = resolve(ref, "password")
    return {
        "credential": ref,
        "name": resolve(ref, "username"),
        "privilege": privilege,
        "role": role,
        "sha512": password_hashes().hash("sha512", ref, password),
        "cisco9": password_hashes().hash("cisco9", ref, password),
    }


def _iface(port: Port, platform: m.Platform, area: str, description: str) -> dict[str, Any]:
    address: IPv4Interface = port.address
    return {
        "name": interface_name(platform, port.index),
        "index": port.index,
        "kind": port.kind,
        "description": description,
        "address": str(address),
        "ip": str(address.ip),
        "prefixlen": address.network.prefixlen,
        "netmask": str(address.netmask),
        "network": str(address.network),
        "network_address": str(address.network.network_address),
        "wildcard": wildcard(address.network),
        "area": area,
        "passive": port.kind in ("lan", "mgmt-lan"),
        "point_to_point": port.kind in ("uplink", "downlink"),
        "cost": ospf_cost(port.bandwidth_mbps) if port.kind in ("uplink", "downlink") else None,
        "bandwidth_mbps": port.bandwidth_mbps,
        "peer": port.peer,
    }


class IntentBuilder:
    """Builds intents for the devices of one inventory, sharing per-run lookups."""

    def __init__(self, inv: Inventory, resolve: SecretResolver | None = None):
        self.inv = inv
        self.resolve = resolve or SecretResolver(inv.env)
        self._common = lru_cache(maxsize=1)(self._build_common)

    def _build_common(self) -> dict[str, Any]:
        """What every router shares: servers, management network, users, SNMP, banner."""
        inv = self.inv
        dc = inv.datacenter
        vm_addresses = {vm.name: vm for vm in inv.vms()}
        for name in (*dc.ntp_servers, dc.syslog_server):
            if name not in vm_addresses:
                raise InventoryError(f"datacenter.yaml: server '{name}' (ntp_servers/syslog_server) is no VM of services.yaml")
        address = lambda name: str(inv.host_address(name, vm_addresses[name].spec.nics[0].vlan).ip)  # noqa: E731
        mgmt_net = inv.plan.pool("mgmt").supernet
        province = inv.province.name if inv.province else ""
        snmp = {
            "user": self.resolve(SNMP_V3_CREDENTIAL, "username"),
            "auth_key": self.resolve(SNMP_V3_CREDENTIAL, "auth_key"),
            "priv_key": self.resolve(SNMP_V3_CREDENTIAL, "priv_key"),
            "community": self.resolve(SNMP_COMMUNITY_CREDENTIAL, "community") if inv.env == "lab" else None,
            "contact": f"noc@{inv.province.slug if inv.province else 'iic'}.gov.vn",
        }
        return {
            "environment": inv.env,
            "province": province,
            "domain": f"iic.{inv.province.slug if inv.province else 'province'}.gov.vn",
            "ntp_servers": [address(n) for n in dc.ntp_servers],
            "syslog_servers": [address(dc.syslog_server)],
            "mgmt_acl": {
                "name": "MGMT-ONLY",
                "network": str(mgmt_net),
                "address": str(mgmt_net.network_address),
                "netmask": str(mgmt_net.netmask),
                "wildcard": wildcard(mgmt_net),
            },
            "mgmt_gateway": str(inv.mgmt_gateway()),
            "snmp": snmp,
            "banner": {
                "vi": [line.format(province=province) for line in BANNER_VI],
                "en": [line.format(province=ascii_fold(province)) for line in BANNER_EN],
                "vi_ascii": [ascii_fold(line.format(province=province)) for line in BANNER_VI],
            },
        }

    def users(self, device: m.Device) -> list[dict[str, Any]]:
        users = [_user(self.resolve, device.credentials, 15, "network-admin")]
        if READONLY_CREDENTIAL in self.inv.credentials and READONLY_CREDENTIAL != device.credentials:
            users.append(_user(self.resolve, READONLY_CREDENTIAL, 1, "network-operator"))
        return users

    def area_of(self, device: m.Device, port: Port) -> str:
        """Area 0 between core and districts; the district's area below a district."""
        inv = self.inv
        if device.role == m.Role.core:
            return BACKBONE
        district = inv.sites[device.site].district
        if device.role == m.Role.district:
            return area_id(district) if port.kind == "downlink" else BACKBONE
        return area_id(district)

    def describe(self, device: m.Device, port: Port) -> str:
        inv = self.inv
        if port.kind == "lan":
            return ascii_fold(f"LAN {display_name(inv, inv.sites[device.site])} {port.address.network}")
        if port.kind == "mgmt-lan":
            return f"IIC management network {port.address.network} (in-band management into the WAN)"
        peer = inv.device(port.peer)
        peer_port = port.link.a if port.link.a.device == port.peer else port.link.b
        site = ascii_fold(display_name(inv, inv.sites[peer.site]))
        peer_if = interface_name(inv.platform(peer), peer_port.port)
        way = "uplink" if port.kind == "uplink" else "downlink"
        return f"WAN {way} to {peer.name} {peer_if} ({site}, {port.bandwidth_mbps} Mb/s {port.link.medium})"

    def build(self, name: str, platform: m.Platform | None = None) -> dict[str, Any]:
        """The intent of ``name``; ``platform`` overrides the environment's (what would
        this router's configuration be on another vendor's box?)."""
        inv = self.inv
        device = inv.device(name)
        platform = platform or inv.platform(device)
        site = inv.sites[device.site]
        district = inv.district_by_code.get(site.district or "")
        ports = inv.ports(name)
        interfaces = [_iface(p, platform, self.area_of(device, p), self.describe(device, p)) for p in ports]
        loopback_area = area_id(site.district) if device.role == m.Role.commune_cpe else BACKBONE
        areas = sorted({i["area"] for i in interfaces} | {loopback_area}, key=lambda a: int(IPv4Address(a)))
        loopback = inv.loopback(name)
        mgmt = inv.mgmt(name)
        in_band = inv.in_band(device)
        return {
            **self._common(),
            "hostname": name,
            "role": device.role.value,
            "platform": platform.value,
            "model": device.model,
            "site": {
                "key": site.key,
                "name": site.name,
                "name_ascii": ascii_fold(display_name(inv, site)),  # the 2025 unit first, the old name second
                "code": site.code,
                "district": district.name if district else None,
                "district_code": site.district,
            },
            "loopback": {"name": loopback_interface_name(platform), "ip": str(loopback), "address": f"{loopback}/32", "area": loopback_area},
            # in band: the loopback is the management address (no management port, no VRF)
            "mgmt": {"name": loopback_interface_name(platform) if in_band else mgmt_interface_name(platform), "in_band": in_band,
                     "ip": str(mgmt.ip), "address": str(mgmt), "netmask": str(mgmt.netmask)},
            "interfaces": interfaces,
            "uplink": next((i for i in interfaces if i["kind"] == "uplink"), None),
            "ospf": {
                "router_id": str(loopback),
                "areas": areas,
                "hello": OSPF_HELLO_S,
                "dead": OSPF_DEAD_S,
                "retransmit": OSPF_RETRANSMIT_S,
                "spf_ms": list(OSPF_SPF_MS),
                "lsa_throttle_ms": OSPF_LSA_THROTTLE_MS,
                "lsa_arrival_ms": OSPF_LSA_ARRIVAL_MS,
                "reference_mbps": OSPF_REFERENCE_MBPS,
                "abr": len(areas) > 1,
                # district areas are totally stubby: the ABR sends its communes only a default route
                "stub_areas": [{"id": a, "no_summary": device.role == m.Role.district} for a in areas if a != BACKBONE],
            },
            "users": self.users(device),
        }


def bootstrap(intent: dict[str, Any]) -> dict[str, Any]:
    """The intent of a router as the provider ships it (day 0): its loopback, its uplink
    and OSPF on them — just enough to be reached in band through its uplink peer, as a
    real router arrives; the push brings the rest."""
    return {**intent, "interfaces": [i for i in intent["interfaces"] if i["kind"] == "uplink"]}


def build_intent(inv: Inventory, name: str, resolve: SecretResolver | None = None) -> dict[str, Any]:
    """The intent of one device (see :class:`IntentBuilder` to build many)."""
    return IntentBuilder(inv, resolve).build(name)
