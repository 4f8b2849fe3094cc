"""Routing adjacencies through the state layer (read-only).

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
