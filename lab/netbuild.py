"""Build and remove the lab's namespaces and interfaces with few, batched ``ip``/``tc`` runs.

``build`` reads what exists (namespaces, and the interfaces of those namespaces) and
creates only what is missing, so a second ``up`` repairs without touching a healthy
router (nor undoing an interface its operator shut). ``teardown`` removes everything by
the lab's fixed names, whether or not the lab was ever recorded.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterable, Sequence
from hatang.errors import HatangError
from hatang.lab.topology import MGMT_BRIDGE, MGMT_LAN_VETH_PREFIX, MGMT_TABLE, MGMT_VETH_PREFIX, NETNS_PREFIX, WIRE_NETNS, RouterWire, Topology
from hatang.results import map_per_host

WORKERS = 8


def run(argv: Sequence[str], stdin: str | None = None, *, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise HatangError(f"'{' '.join(argv)}' failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def batch(tool: str, lines: Iterable[str], netns: str | None = None, *, tolerant: bool = False) -> None:
    """Run ``ip``/``tc`` commands as one batch (in ``netns`` if given). A tolerant batch
    runs every line and ignores failures: for removals of what may not exist."""
    text = "\n".join(lines)
    if not text:
        return
    argv = [tool, *(["-n", netns] if netns else []), *(["-force"] if tolerant else []), "-batch", "-"]
    run(argv, text + "\n", check=not tolerant)


def netns_list() -> set[str]:
    out = run(["ip", "-j", "netns", "list"]).stdout.strip()
    return {entry["name"] for entry in json.loads(out or "[]")}


def links(netns: str | None = None) -> dict[str, dict]:
    """Interfaces of a namespace by name (``ip -j link``)."""
    out = run(["ip", *(["-n", netns] if netns else []), "-j", "link", "show"]).stdout
    return {entry["ifname"]: entry for entry in json.loads(out or "[]")}


def lab_netns() -> list[str]:
    return sorted(n for n in netns_list() if n.startswith(NETNS_PREFIX))


# --- up ------------------------------------------------------------------------------


def build(topo: Topology, *, wires_down: set[str], mgmt_down: set[str]) -> list[str]:
    """Create what is missing; returns the routers that were (re)built, to configure."""
    existing = netns_list()
    host = links()
    inside = map_per_host(topo.routers, lambda r: links(r.netns) if r.netns in existing else {}, name_of=lambda r: r.netns,
                          max_workers=WORKERS, what="routers: interfaces")
    wire_links = links(WIRE_NETNS) if WIRE_NETNS in existing else {}

    host_lines: list[str] = [f"netns add {ns}" for ns in [WIRE_NETNS, *(r.netns for r in topo.routers)] if ns not in existing]
    if MGMT_BRIDGE not in host:
        host_lines += [
            f"link add {MGMT_BRIDGE} type bridge",
            f"addr add {topo.gateway} dev {MGMT_BRIDGE}",
            f"link set {MGMT_BRIDGE} up",
        ]
    wire_cleanup: list[str] = []
    rebuilt: list[str] = []
    new_wires: set[str] = set()
    for router in topo.routers:
        have = inside[router.netns]
        missing_ports = [p for p in router.ports if p.ifname not in have]
        mgmt_missing = not router.in_band and (router.mgmt_ifname not in have or router.mgmt_veth not in host)
        lan = router.mgmt_lan
        lan_missing = lan is not None and (lan.ifname not in have or lan.wire not in host)
        if not missing_ports and not mgmt_missing and not lan_missing:
            continue
        rebuilt.append(router.name)
        if mgmt_missing:
            host_lines += _bridge_port(router.mgmt_veth, router.mgmt_ifname, router.netns, host, up=router.name not in mgmt_down)
        if lan_missing:
            host_lines += _bridge_port(lan.wire, lan.ifname, router.netns, host, up=True)
        for port in missing_ports:
            if port.wire in wire_links:
                wire_cleanup.append(f"link del {port.wire}")
            host_lines.append(f"link add name {port.ifname} netns {router.netns} type veth peer name {port.wire} netns {WIRE_NETNS}")
            new_wires.add(port.wire)
    if topo.inband_via is not None:  # the in-band routers: only through the core, as in the province
        host_lines += [f"route replace {prefix} via {topo.inband_via} dev {MGMT_BRIDGE}" for prefix in topo.wan_prefixes]
    if wire_cleanup:
        batch("ip", wire_cleanup, WIRE_NETNS, tolerant=True)
    batch("ip", host_lines)
    if WIRE_NETNS not in existing:
        run(["ip", "netns", "exec", WIRE_NETNS, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
    _wire_up(topo, new_wires, wires_down)
    chosen = [r for r in topo.routers if r.name in rebuilt]
    map_per_host(chosen, configure_router, name_of=lambda r: r.name, max_workers=WORKERS, what="routers: configure")
    return rebuilt


def _bridge_port(host_side: str, inside: str, netns: str, host: dict[str, dict], *, up: bool) -> list[str]:
    """``ip`` lines for a veth from the management bridge into a router (``inside``)."""
    lines = [f"link del {host_side}"] if host_side in host else []
    lines += [
        f"link add {host_side} type veth peer name {inside} netns {netns}",
        f"link set {host_side} master {MGMT_BRIDGE}",
    ]
    return lines + ([f"link set {host_side} up"] if up else [])


def _wire_up(topo: Topology, new_wires: set[str], wires_down: set[str]) -> None:
    """Bring new wire ends up (unless a fault holds them down) and join the links' ends."""
    lines = [f"link set {w} up" for w in sorted(new_wires) if w not in wires_down]
    batch("ip", lines, WIRE_NETNS)
    stale: list[str] = []  # an old end of a rebuilt link: its redirect points to a gone device
    tc: list[str] = []
    for link in topo.links:
        a, b = link.a.wire, link.b.wire
        if a not in new_wires and b not in new_wires:
            continue
        for src, dst in ((a, b), (b, a)):
            if src not in new_wires:
                stale.append(f"qdisc del dev {src} ingress")
            tc += [
                f"qdisc add dev {src} ingress",
                f"filter add dev {src} parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev {dst}",
            ]
    batch("tc", stale, WIRE_NETNS, tolerant=True)
    batch("tc", tc, WIRE_NETNS)


def configure_router(router: RouterWire) -> None:
    """Inside the router: forwarding on, IPv6 off, interfaces up. Out of band: the
    management address in a routing table of its own, never forwarded to or from, so
    management traffic never takes the WAN and WAN traffic never reaches management. In
    band: the loopback address, where sshd and snmpd listen (the provider's bootstrap
    puts it there before the router ships; FRR's configuration names it too)."""
    mgmt, dev = router.mgmt, router.mgmt_ifname
    sysctls = [
        "net.ipv4.ip_forward=1",  # first: it resets every interface's forwarding flag
        *([] if router.in_band else [f"net.ipv4.conf.{dev}.forwarding=0"]),
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
        # the core has two ports on the management bridge: each answers ARP for its own address only
        "net.ipv4.conf.all.arp_ignore=1",
        # ospfd joins 224.0.0.5 on every OSPF interface; a district router has up to 30
        # and Linux allows 20 memberships per socket by default (the rest hear no hello)
        "net.ipv4.igmp_max_memberships=256",
    ]
    lines = ["link set lo up"]
    if router.in_band:
        lines.append(f"addr replace {mgmt} dev lo")
    else:
        lines += [
            f"link set {dev} up",
            f"addr replace {mgmt} dev {dev} noprefixroute",
            f"route replace {mgmt.network} dev {dev} src {mgmt.ip} table {MGMT_TABLE}",
            f"rule add from {mgmt.ip} lookup {MGMT_TABLE} pref {MGMT_TABLE}",
        ]
    lines += [f"link set {p.ifname} up" for p in (*router.ports, *([router.mgmt_lan] if router.mgmt_lan else []))]
    run(["ip", "netns", "exec", router.netns, "sysctl", "-qw", *sysctls])
    batch("ip", [f"rule del pref {MGMT_TABLE}"], router.netns, tolerant=True)
    batch("ip", lines, router.netns)


# --- faults -------------------------------------------------------------------------


def set_wires(wires: Iterable[str], up: bool) -> None:
    batch("ip", (f"link set {w} {'up' if up else 'down'}" for w in wires), WIRE_NETNS)


def set_mgmt(veth: str, up: bool) -> None:
    run(["ip", "link", "set", veth, "up" if up else "down"])


# --- down -----------------------------------------------------------------------------


def _mgmt_veths() -> list[str]:
    return [n for n in links() if n[:3] in (MGMT_VETH_PREFIX, MGMT_LAN_VETH_PREFIX) and n[3:].isdigit()]


def teardown(wait_s: float = 20.0) -> list[str]:
    """Delete the management bridge and every lab namespace; returns the namespaces.

    The kernel destroys a deleted namespace's interfaces (and their veth peers on the
    host) in the background, many at once, which is much faster than deleting 146 veths
    one by one; we wait for it, and delete whatever is left after ``wait_s``."""
    namespaces = lab_netns()
    lines = [f"link del {MGMT_BRIDGE}"] if MGMT_BRIDGE in links() else []
    batch("ip", [*lines, *(f"netns del {ns}" for ns in namespaces)], tolerant=True)
    deadline = time.monotonic() + wait_s
    while (left := _mgmt_veths()) and time.monotonic() < deadline:
        time.sleep(0.1)
    batch("ip", (f"link del {name}" for name in left), tolerant=True)
    return namespaces


def netns_pids(netns: str) -> list[int]:
    out = run(["ip", "netns", "pids", netns], check=False).stdout
    return [int(p) for p in out.split()]
