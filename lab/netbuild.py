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
from concurrent.futures import ThreadPoolExecutor

from hatang.errors import HatangError
from hatang.lab.topology import MGMT_BRIDGE, MGMT_TABLE, MGMT_VETH_PREFIX, NETNS_PREFIX, WIRE_NETNS, RouterWire, Topology

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
    with ThreadPoolExecutor(WORKERS) as pool:
        inside = dict(zip(
            [r.netns for r in topo.routers],
            pool.map(lambda r: links(r.netns) if r.netns in existing else {}, topo.routers),
        ))
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
        mgmt_missing = router.mgmt_ifname not in have or router.mgmt_veth not in host
        if not missing_ports and not mgmt_missing:
            continue
        rebuilt.append(router.name)
        if mgmt_missing:
            if router.mgmt_veth in host:
                host_lines.append(f"link del {router.mgmt_veth}")
            host_lines += [
                f"link add {router.mgmt_veth} type veth peer name {router.mgmt_ifname} netns {router.netns}",
                f"link set {router.mgmt_veth} master {MGMT_BRIDGE}",
            ]
            if router.name not in mgmt_down:
                host_lines.append(f"link set {router.mgmt_veth} up")
        for port in missing_ports:
            if port.wire in wire_links:
                wire_cleanup.append(f"link del {port.wire}")
            host_lines.append(f"link add name {port.ifname} netns {router.netns} type veth peer name {port.wire} netns {WIRE_NETNS}")
            new_wires.add(port.wire)
    if wire_cleanup:
        batch("ip", wire_cleanup, WIRE_NETNS, tolerant=True)
    batch("ip", host_lines)
    if WIRE_NETNS not in existing:
        run(["ip", "netns", "exec", WIRE_NETNS, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
    _wire_up(topo, new_wires, wires_down)
    chosen = [r for r in topo.routers if r.name in rebuilt]
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(configure_router, chosen))
    return rebuilt


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
    """Inside the router: forwarding on (but never from the management port), IPv6 off,
    interfaces up, and the management address in a routing table of its own, so
    management traffic never takes the WAN and WAN traffic never reaches management."""
    mgmt, dev = router.mgmt, router.mgmt_ifname
    sysctls = [
        "net.ipv4.ip_forward=1",  # first: it resets every interface's forwarding flag
        f"net.ipv4.conf.{dev}.forwarding=0",
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
        # ospfd joins 224.0.0.5 on every OSPF interface; a district router has up to 30
        # and Linux allows 20 memberships per socket by default (the rest hear no hello)
        "net.ipv4.igmp_max_memberships=256",
    ]
    lines = [
        "link set lo up",
        f"link set {dev} up",
        f"addr replace {mgmt} dev {dev} noprefixroute",
        f"route replace {mgmt.network} dev {dev} src {mgmt.ip} table {MGMT_TABLE}",
        f"rule add from {mgmt.ip} lookup {MGMT_TABLE} pref {MGMT_TABLE}",
        *(f"link set {p.ifname} up" for p in router.ports),
    ]
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
    return [n for n in links() if n.startswith(MGMT_VETH_PREFIX) and n[len(MGMT_VETH_PREFIX):].isdigit()]


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
