"""Faults for tests, demos and runbooks: cut and repair links, power routers off and on,
freeze them.

A cut link is its two wire ends going down in ``ht-wire``: both routers' ports lose
carrier (ifOperStatus down, ifAdminStatus unchanged), as with a real fibre cut. A killed
router has every process of its namespace frozen (SIGSTOP: no routing, no SSH, no SNMP)
and all its wire ends and its management port down, so its neighbours see their links
drop, as when a box loses power. A frozen router has every process stopped the same
way but keeps its links up: its kernel still completes TCP handshakes and nothing
answers after them, and no reset comes either, so its peers go silent mid-session (the
hardest case for timeouts); its OSPF neighbours drop it after the dead interval. The faults in force are recorded (``faults.json``) so
that repairing a link of a dead router, or a repair by ``up``, keeps the other faults.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import asdict, dataclass, field

from hatang.errors import HatangError
from hatang.lab import netbuild
from hatang.lab.context import LabContext
from hatang.lab.topology import LinkWire, RouterWire, Topology, build

FILE = "faults.json"


@dataclass
class Faults:
    links_down: list[list[str]] = field(default_factory=list)  # [a, b] pairs, sorted
    killed: list[str] = field(default_factory=list)
    frozen: list[str] = field(default_factory=list)


def read(ctx: LabContext) -> Faults:
    path = ctx.state_dir / FILE
    if not path.exists():
        return Faults()
    return Faults(**json.loads(path.read_text()))


def _write(ctx: LabContext, faults: Faults) -> None:
    path = ctx.state_dir / FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(faults), indent=1))
    os.replace(tmp, path)


def clear(ctx: LabContext) -> None:
    (ctx.state_dir / FILE).unlink(missing_ok=True)


def wires_held_down(topo: Topology, faults: Faults) -> set[str]:
    """Wire ends a fault keeps down: both ends of cut links, every end of killed routers."""
    held: set[str] = set()
    for a, b in faults.links_down:
        link = topo.link(a, b)
        if link is not None:
            held |= {link.a.wire, link.b.wire}
    present = {r.name for r in topo.routers}
    for name in faults.killed:
        if name in present:
            held |= _wires_of(topo, name)
    return held


def _topology(ctx: LabContext) -> Topology:
    if not netbuild.lab_netns():
        raise HatangError("the lab is not up: run 'hatang lab up' first")
    return build(ctx.inventory, ctx.size)


def _router(topo: Topology, name: str):
    try:
        return topo.router(name)
    except KeyError:
        raise HatangError(f"device '{name}' is not in the {len(topo.routers)}-router lab (see 'hatang lab status')") from None


def _link(topo: Topology, a: str, b: str) -> LinkWire:
    _router(topo, a), _router(topo, b)
    link = topo.link(a, b)
    if link is None:
        raise HatangError(f"no inventory link between '{a}' and '{b}' in this lab")
    return link


def link_down(ctx: LabContext, a: str, b: str) -> dict:
    topo = _topology(ctx)
    link = _link(topo, a, b)
    netbuild.set_wires([link.a.wire, link.b.wire], up=False)
    state = read(ctx)
    pair = sorted([a, b])
    if pair not in state.links_down:
        state.links_down.append(pair)
    _write(ctx, state)
    return {"fault": "link-down", "link": pair, "ports": _ports(link), "summary": f"link {a} {link_port(link, a)} <-> {b} {link_port(link, b)} is cut"}


def link_up(ctx: LabContext, a: str, b: str) -> dict:
    topo = _topology(ctx)
    link = _link(topo, a, b)
    state = read(ctx)
    pair = sorted([a, b])
    state.links_down = [p for p in state.links_down if p != pair]
    _write(ctx, state)
    held = wires_held_down(topo, state)  # a killed end keeps its side down
    netbuild.set_wires([w for w in (link.a.wire, link.b.wire) if w not in held], up=True)
    note = " (an end is killed: it stays down until restored)" if held & {link.a.wire, link.b.wire} else ""
    return {"fault": "link-up", "link": pair, "ports": _ports(link), "summary": f"link {a} <-> {b} is repaired{note}"}


def _stop(ctx: LabContext, device: str, kind: str) -> tuple[Topology, RouterWire]:
    """Record ``device`` in the faults' list ``kind`` (killed, frozen); its wiring."""
    topo = _topology(ctx)
    router = _router(topo, device)
    state = read(ctx)
    listed = getattr(state, kind)
    if device not in listed:
        listed.append(device)
    _write(ctx, state)
    return topo, router


def kill(ctx: LabContext, device: str) -> dict:
    topo, router = _stop(ctx, device, "killed")
    _set_bridge_ports(router, up=False)
    netbuild.set_wires(sorted(_wires_of(topo, device)), up=False)
    frozen = _signal_all(router.netns, signal.SIGSTOP)
    return {"fault": "kill", "device": device, "processes": frozen, "summary": f"{device} is powered off ({frozen} processes frozen, links and management down)"}


def freeze(ctx: LabContext, device: str) -> dict:
    _, router = _stop(ctx, device, "frozen")
    frozen = _signal_all(router.netns, signal.SIGSTOP)
    return {"fault": "freeze", "device": device, "processes": frozen, "summary": f"{device} is frozen ({frozen} processes stopped, links up: its peers get silence, no reset)"}


def restore(ctx: LabContext, device: str) -> dict:
    """Power a killed router on again, or thaw a frozen one."""
    topo = _topology(ctx)
    router = _router(topo, device)
    state = read(ctx)
    state.killed = [k for k in state.killed if k != device]
    state.frozen = [k for k in state.frozen if k != device]
    _write(ctx, state)
    thawed = _signal_all(router.netns, signal.SIGCONT)
    held = wires_held_down(topo, state)
    netbuild.set_wires(sorted(_wires_of(topo, device) - held), up=True)
    _set_bridge_ports(router, up=True)
    return {"fault": "restore", "device": device, "processes": thawed, "summary": f"{device} is powered on again ({thawed} processes resumed)"}


def _set_bridge_ports(router: RouterWire, up: bool) -> None:
    """The router's ports on the management bridge (out of band, the core's in-band gateway)."""
    for veth in (router.mgmt_veth, router.mgmt_lan.wire if router.mgmt_lan else None):
        if veth is not None:
            netbuild.set_mgmt(veth, up=up)


def _wires_of(topo: Topology, device: str) -> set[str]:
    """The wire ends a router's power reaches: its own, and its neighbours' ends facing it."""
    own = {p.wire for p in _router(topo, device).ports}
    return own | {w for link in topo.links_of(device) for w in (link.a.wire, link.b.wire)}


def _signal_all(netns: str, sig: int) -> int:
    count = 0
    for pid in netbuild.netns_pids(netns):
        try:
            os.kill(pid, sig)
            count += 1
        except ProcessLookupError:
            pass
    return count


def link_port(link: LinkWire, device: str) -> str:
    return link.a.ifname if link.a.router == device else link.b.ifname


def _ports(link: LinkWire) -> dict[str, str]:
    return {link.a.router: link.a.ifname, link.b.router: link.b.ifname}
