"""Routing adjacencies and neighbours through the state layer (read-only).

OSPF runs on every WAN link (area 0 core↔districts, one area per district), so each
port in scope with a peer should carry a Full adjacency with that peer. The platform's
reader (``hatang.network.state``) gives one dict per adjacency: neighbor_id, address,
interface, state, is_full.
"""

from __future__ import annotations

from hatang.runbooks.context import CheckContext, Outcome
from hatang.runbooks.checks.snmp import describe_port


def ospf_neighbors(ctx: CheckContext) -> Outcome:
    """A Full OSPF adjacency on each port in scope that has a peer."""
    wanted = [p for p in ctx.subject.ports if p.peer]
    if not wanted:
        return Outcome("skip", f"{ctx.device} has no routed port in scope of this diagnosis")
    neighbors = ctx.state().ospf_neighbors()
    missing, seen = [], []
    for port in wanted:
        peer_ip = str(port.peer_address.ip) if port.peer_address else None
        peer_id = str(ctx.inv.loopback(port.peer))
        match = [n for n in neighbors if n["interface"] == port.name or (n["address"] and n["address"] == peer_ip) or n["neighbor_id"] == peer_id]
        states = sorted({n["state"] for n in match}) or ["none"]
        seen.append({"port": port.name, "peer": port.peer, "link": port.link.id if port.link else None, "states": states})
        if not any(n["is_full"] for n in match):
            missing.append(f"no Full adjacency with {port.peer} on {describe_port(port)} (state {', '.join(states)})")
    data = {"expected": seen, "neighbors": neighbors}
    details = [f"{n['neighbor_id']} on {n['interface']} ({n['address']}): {n['state']}" for n in neighbors]
    if missing:
        return Outcome("fail", "; ".join(missing), details=details, data=data)
    return Outcome("ok", "Full with " + ", ".join(s["peer"] for s in seen), details=details, data=data)


def arp(ctx: CheckContext) -> Outcome:
    """The subject's ARP entry for each peer of a port in scope: a district router that
    still resolves its commune's uplink address hears that router's kernel, whatever its
    management does (a hung router answers ARP; a cut or dead one does not)."""
    wanted = [p for p in ctx.subject.ports if p.peer and p.peer_address]
    if not wanted:
        return Outcome("skip", f"{ctx.device} has no routed port in scope of this diagnosis")
    table = ctx.state().arp()
    seen, missing = [], []
    for port in wanted:
        address = str(port.peer_address.ip)
        entry = next((e for e in table if e["ip"] == address), None)
        resolved = bool(entry and entry["mac"])
        seen.append({"port": port.name, "peer": port.peer, "address": address, "mac": entry["mac"] if entry else None,
                     "state": entry.get("state") if entry else None, "link": port.link.id if port.link else None})
        if not resolved:
            missing.append(f"no ARP answer from {port.peer} ({address}) on {describe_port(port)}")
    data = {"entries": seen}
    if missing:
        return Outcome("fail", "; ".join(missing), data=data)
    return Outcome("ok", "ARP resolved for " + ", ".join(f"{s['peer']} ({s['mac']})" for s in seen), data=data)
