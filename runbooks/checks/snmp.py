"""Interface state, errors and load over SNMP (the monitoring room's poller, if_mib).

Each check looks at the subject's ports that matter (the target's WAN and LAN ports; a
neighbour's port facing the target) and names each one with its link, so a finding
reads "eth2 towards cpe-tich-son (link dr-vinh-yen--cpe-tich-son) is down".
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hatang.inventory.inventory import Port
from hatang.runbooks.access import IfRow, IfSnapshot, snmp_snapshot
from hatang.runbooks.context import CheckContext, Outcome

OPER_STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}
ERROR_COUNTERS = ("ifInErrors", "ifOutErrors", "ifInDiscards", "ifOutDiscards")
SAMPLE_INTERVAL_S = 5.0
LOAD_THRESHOLD_PCT = 80.0


def describe_port(port: Port) -> str:
    if port.peer:
        link = port.link.id if port.link else "?"
        return f"{port.name} towards {port.peer} (link {link})"
    return f"{port.name} ({port.kind})"


def port_record(port: Port) -> dict:
    return {"port": port.name, "kind": port.kind, "peer": port.peer, "link": port.link.id if port.link else None}


def _no_ports(ctx: CheckContext) -> Outcome | None:
    if not ctx.subject.ports:
        return Outcome("skip", f"{ctx.device} has no port in scope of this diagnosis")
    return None


def port_states(ctx: CheckContext) -> list[dict]:
    """Oper and admin status of each port in scope, from one SNMP walk; a port missing
    from the agent's ifTable is ``absent`` (its veth or line card is gone)."""
    snap = snmp_snapshot(ctx.inv, ctx.device)
    states = []
    for port in ctx.subject.ports:
        row = snap.rows.get(port.name)
        oper = "absent" if row is None else OPER_STATUS.get(row.oper, str(row.oper))
        admin = None if row is None else ("up" if row.admin == 1 else "down")
        states.append({**port_record(port), "oper": oper, "admin": admin, "describe": describe_port(port)})
    return states


def _state_lines(states: list[dict]) -> list[str]:
    return [f"{s['port']}: oper {s['oper']}, admin {s['admin']}" for s in states]


def interfaces(ctx: CheckContext) -> Outcome:
    """Every port in scope operationally up."""
    if skipped := _no_ports(ctx):
        return skipped
    states = port_states(ctx)
    down = [s for s in states if s["oper"] != "up"]
    data = {"ports": states, "down": down}
    if down:
        return Outcome("fail", "; ".join(f"{s['describe']} is {s['oper']}" for s in down), details=_state_lines(states), data=data)
    return Outcome("ok", f"{len(states)} port(s) up: " + ", ".join(s["port"] for s in states), data=data)


def ports_enabled(ctx: CheckContext) -> Outcome:
    """No port in scope shut down by configuration (ifAdminStatus): a port that is down
    because someone (or a push) shut it is a configuration fault, not a line fault."""
    if skipped := _no_ports(ctx):
        return skipped
    states = port_states(ctx)
    shut = [s for s in states if s["admin"] == "down"]
    data = {"ports": states, "shut": shut}
    if shut:
        return Outcome("fail", "; ".join(f"{s['describe']} is shut down by configuration" for s in shut), details=_state_lines(states), data=data)
    return Outcome("ok", f"{len(states)} port(s) enabled in the configuration", data=data)


def _two_samples(ctx: CheckContext) -> tuple[IfSnapshot, IfSnapshot, float]:
    interval = ctx.param("interval_s", SAMPLE_INTERVAL_S)
    first = snmp_snapshot(ctx.inv, ctx.device)
    time.sleep(interval)
    second = snmp_snapshot(ctx.inv, ctx.device)
    return first, second, max(second.at - first.at, 1e-3)


def _per_port(ctx: CheckContext, measure: Callable[[Port, IfRow, IfRow, float], dict | None]) -> list[dict]:
    """Sample twice and apply ``measure`` to each port in scope present in both samples;
    keep the ports it flags."""
    first, second, elapsed = _two_samples(ctx)
    flagged = []
    for port in ctx.subject.ports:
        before, after = first.rows.get(port.name), second.rows.get(port.name)
        if before is not None and after is not None and (found := measure(port, before, after, elapsed)):
            flagged.append({**port_record(port), **found})
    return flagged


def interface_errors(ctx: CheckContext) -> Outcome:
    """Error and discard counters that grew between two samples ``interval_s`` apart."""
    if skipped := _no_ports(ctx):
        return skipped

    def grown(port: Port, before: IfRow, after: IfRow, elapsed: float) -> dict | None:
        delta = {c: after.counters.get(c, 0) - before.counters.get(c, 0) for c in ERROR_COUNTERS}
        delta = {c: d for c, d in delta.items() if d > 0}
        return {"per_s": {c: round(d / elapsed, 2) for c, d in delta.items()}, "delta": delta} if delta else None

    flagged = _per_port(ctx, grown)
    interval = ctx.param("interval_s", SAMPLE_INTERVAL_S)
    data = {"interval_s": interval, "ports": flagged}
    if flagged:
        lines = [f"{f['port']}: " + ", ".join(f"{c} +{d}" for c, d in f["delta"].items()) for f in flagged]
        return Outcome("fail", "errors growing on " + ", ".join(f["port"] for f in flagged), details=lines, data=data)
    return Outcome("ok", f"no error or discard counter grew over {interval:g} s on {len(ctx.subject.ports)} port(s)", data=data)


def interface_load(ctx: CheckContext) -> Outcome:
    """Traffic in and out as a share of the link's bandwidth (the inventory's, else the
    agent's ifHighSpeed), over two samples ``interval_s`` apart."""
    if skipped := _no_ports(ctx):
        return skipped
    threshold = ctx.param("threshold_pct", LOAD_THRESHOLD_PCT)
    loads: list[dict] = []

    def load(port: Port, before: IfRow, after: IfRow, elapsed: float) -> dict | None:
        speed_mbps = port.bandwidth_mbps if port.link else (after.speed_mbps or port.bandwidth_mbps)
        pct = {
            direction: round((after.counters.get(c, 0) - before.counters.get(c, 0)) * 8 / elapsed / (speed_mbps * 1e4), 1)
            for direction, c in (("in", "ifHCInOctets"), ("out", "ifHCOutOctets"))
        }
        loads.append({"port": port.name, "bandwidth_mbps": speed_mbps, "pct": pct})
        return {"bandwidth_mbps": speed_mbps, "pct": pct} if max(pct.values()) >= threshold else None

    flagged = _per_port(ctx, load)
    data = {"threshold_pct": threshold, "ports": loads, "saturated": flagged}
    lines = [f"{entry['port']}: in {entry['pct']['in']}%, out {entry['pct']['out']}% of {entry['bandwidth_mbps']:g} Mbit/s" for entry in loads]
    if flagged:
        return Outcome("fail", f"at or above {threshold:g}%: " + ", ".join(describe_port_name(f) for f in flagged), details=lines, data=data)
    return Outcome("ok", f"below {threshold:g}% on {len(loads)} port(s)", details=lines, data=data)


def describe_port_name(record: dict) -> str:
    return f"{record['port']} towards {record['peer']}" if record.get("peer") else record["port"]


def uptime(ctx: CheckContext) -> Outcome:
    """How long the SNMP agent has run (sysUpTime): a short uptime means the router
    rebooted or lost power, or its agent restarted."""
    recent_s = ctx.param("recent_s", 3600)
    snap = snmp_snapshot(ctx.inv, ctx.device)
    if snap.uptime_s is None:
        return Outcome("fail", f"{ctx.device} does not report sysUpTime")
    data = {"uptime_s": snap.uptime_s, "recent_s": recent_s}
    text = format_duration(snap.uptime_s)
    if snap.uptime_s < recent_s:
        return Outcome("warn", f"up only {text}: restarted within the last {format_duration(recent_s)}", data=data)
    return Outcome("ok", f"up {text}", data=data)


def format_duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m {secs}s"


#: A port whose link changed less than this long ago has flapped "recently".
FLAP_RECENT_S = 3600.0


def port_flaps(ctx: CheckContext) -> Outcome:
    """When each port in scope last went up or down (the state layer's ``interfaces``,
    ``last_flapped_s``; skipped where the platform gives no such time, see ``flaps``): seen
    from the district, a commune's port that keeps changing is a line or a power supply
    failing, even while the commune itself cannot be asked."""
    if skipped := _no_ports(ctx):
        return skipped
    recent_s = ctx.param("recent_s", FLAP_RECENT_S)
    reader = ctx.state()
    if "flaps" in reader.unsupported:  # the times of link changes are not to be had from this platform
        return Outcome("skip", f"{reader.platform} gives no time of a port's last change: {reader.unsupported['flaps']}")
    found = reader.interfaces()
    ports = []
    for port in ctx.subject.ports:
        since = found.get(port.name, {}).get("last_flapped_s")
        flapped = -1.0 if since is None else float(since)
        ports.append({**port_record(port), "last_flapped_s": flapped, "describe": describe_port(port)})
    recent = [p for p in ports if 0 <= p["last_flapped_s"] < recent_s]
    data = {"ports": ports, "recent": recent, "recent_s": recent_s}
    details = [f"{p['port']}: " + (f"last changed {format_duration(p['last_flapped_s'])} ago" if p["last_flapped_s"] >= 0 else "no change since start") for p in ports]
    if recent:
        return Outcome("warn", "; ".join(f"{p['describe']} changed state {format_duration(p['last_flapped_s'])} ago" for p in recent), details=details, data=data)
    return Outcome("ok", f"no port in scope changed state in the last {format_duration(recent_s)}", details=details, data=data)
