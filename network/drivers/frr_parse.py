"""Turn FRR's outputs (vtysh JSON, frr-reload deltas, ping) into napalm's shapes."""

from __future__ import annotations

import json
import re
from datetime import datetime
from ipaddress import ip_interface
from typing import Any

# -- frr-reload --test --------------------------------------------------------------

_HEADINGS = {"Lines To Delete": "-", "Lines To Add": "+"}


def _deleted(line: str) -> str:
    """frr-reload lists a deletion as the command that performs it (``no X`` deletes
    ``X``, ``X`` deletes ``no X``); a diff shows the line that goes away."""
    indent = line[: len(line) - len(line.lstrip())]
    text = line.strip()
    return indent + (text[3:] if text.startswith("no ") else f"no {text}")


#: Top-level lines frr-reload deletes by adding their "no" form (static routes: many
#: "no" lines in one file rather than one vtysh call each).
_DELETED_BY_ADDING = ("no ip route ", "no ipv6 route ")


def reload_deltas(output: str) -> list[tuple[str, str, str]]:
    """frr-reload's ``--test`` output as (sign, context, line) triples; ``line`` is ""
    for a top-level line (the context itself is added or deleted). Deleted lines are
    given as they stand in the running configuration (a route's "no" line, which
    frr-reload lists among the additions, too)."""
    deltas: list[tuple[str, str, str]] = []
    sign = context = None
    bare: tuple[str, str, str] | None = None
    for raw in output.splitlines():
        if raw in _HEADINGS:
            sign = _HEADINGS[raw]
            continue
        if sign is None or not raw.strip() or set(raw) == {"="}:
            continue
        if raw.startswith(" "):
            line = raw.rstrip()
            deltas.append((sign, context or "", _deleted(line) if sign == "-" else line))
            bare = None
            continue
        if bare is not None:
            deltas.append(bare)
        context = raw.rstrip()
        deleted = sign == "-" or context.startswith(_DELETED_BY_ADDING)
        bare = ("-", _deleted(context), "") if deleted else (sign, context, "")
    if bare is not None:
        deltas.append(bare)
    return _dedupe(deltas)


def _dedupe(deltas: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Each delta once, in order (frr-reload may list a line more than once)."""
    return list(dict.fromkeys(deltas))


def deltas_as_diff(deltas: list[tuple[str, str, str]]) -> str:
    """Deltas as a diff a network engineer reads: each context once, its lines signed."""
    order: list[str] = []
    groups: dict[str, list[tuple[str, str]]] = {}
    for sign, ctx, line in deltas:
        if ctx not in groups:
            groups[ctx] = []
            order.append(ctx)
        groups[ctx].append((sign, line))
    lines: list[str] = []
    for ctx in order:
        items = groups[ctx]
        bare = [sign for sign, line in items if not line]
        subs = [(sign, line) for sign, line in items if line]
        if bare and not subs:
            lines.extend(f"{sign}{ctx}" for sign in bare)
            continue
        lines.append(f"{bare[0] if bare else ' '}{ctx}")
        lines.extend(f"{sign}{line}" for sign, line in subs)
    return "\n".join(lines)


# -- getters ------------------------------------------------------------------------

#: zebra's link-change stamps (``lastLinkUp``/``lastLinkDown``), in the router's local time.
ZEBRA_STAMP = "%Y/%m/%d %H:%M:%S.%f"


def last_flapped(item: dict[str, Any], now: datetime) -> float:
    """Seconds since the port last went up or down (napalm's ``last_flapped``), -1.0 if
    it never changed since zebra started."""
    stamps = []
    for key in ("lastLinkUp", "lastLinkDown"):
        try:
            stamps.append(datetime.strptime(str(item[key])[:32], ZEBRA_STAMP))
        except (KeyError, ValueError):
            continue
    return round(max(0.0, (now - max(stamps)).total_seconds()), 1) if stamps else -1.0


def interfaces(data: dict[str, Any], now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """``show interface json`` → napalm's get_interfaces (``now``: the router's local
    time, for ``last_flapped``)."""
    now = now or datetime.now()
    result = {}
    for name, item in sorted(data.items()):
        result[name] = {
            "is_up": item.get("operationalStatus") == "up",
            "is_enabled": item.get("administrativeStatus") == "up",
            "description": item.get("description", ""),
            "last_flapped": last_flapped(item, now),
            "speed": float(item.get("speed", 0) or 0),
            "mtu": int(item.get("mtu", 0) or 0),
            "mac_address": item.get("hardwareAddress", "").upper(),
        }
    return result


def interfaces_ip(data: dict[str, Any]) -> dict[str, dict[str, dict[str, dict[str, int]]]]:
    """``show interface json`` → napalm's get_interfaces_ip."""
    result: dict[str, dict[str, dict[str, dict[str, int]]]] = {}
    for name, item in sorted(data.items()):
        for entry in item.get("ipAddresses", []):
            address = ip_interface(entry["address"])
            family = f"ipv{address.version}"
            result.setdefault(name, {}).setdefault(family, {})[str(address.ip)] = {"prefix_length": address.network.prefixlen}
    return result


def ospf_neighbors(data: dict[str, Any]) -> list[dict[str, Any]]:
    """``show ip ospf neighbor json`` → one dict per adjacency (hatang's extra getter)."""
    neighbors = []
    for router_id, entries in sorted(data.get("neighbors", {}).items()):
        for entry in entries:
            state, _, role = entry.get("state", entry.get("nbrState", "")).partition("/")
            neighbors.append(
                {
                    "neighbor_id": router_id,
                    "address": entry.get("ifaceAddress", entry.get("address", "")),
                    "interface": entry.get("ifaceName", "").split(":")[0],
                    "state": state,
                    "role": role,
                    "is_full": state == "Full",
                    "dead_time_ms": entry.get("deadTimeMsecs", entry.get("routerDeadIntervalTimerDueMsec")),
                }
            )
    return neighbors


def route_to(data: dict[str, Any], protocol: str = "") -> dict[str, list[dict[str, Any]]]:
    """``show ip route ADDRESS json`` → napalm's get_route_to (one entry per next hop)."""
    routes: dict[str, list[dict[str, Any]]] = {}
    for prefix, entries in data.items():
        for entry in entries if isinstance(entries, list) else []:
            if protocol and entry.get("protocol") != protocol:
                continue
            for hop in entry.get("nexthops", []) or [{}]:
                routes.setdefault(prefix, []).append({
                    "protocol": entry.get("protocol", ""),
                    "current_active": bool(entry.get("selected")) and bool(hop.get("active", True)),
                    "next_hop": hop.get("ip", ""),
                    "outgoing_interface": hop.get("interfaceName", ""),
                    "preference": int(entry.get("distance", 0) or 0),
                    "age": int(entry.get("uptime", 0) or 0) if str(entry.get("uptime", "")).isdigit() else 0,
                    "inactive_reason": "",
                    "routing_table": "default",
                    "last_active": bool(entry.get("selected")),
                    "selected_next_hop": bool(hop.get("fib")),
                    "protocol_attributes": {"metric": entry.get("metric", 0)},
                })
    return routes


# -- ping ---------------------------------------------------------------------------

_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
_RTT = re.compile(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms")
_REPLY = re.compile(r"from ([\d.]+).*time=([\d.]+) ms")


def ping(output: str) -> dict[str, Any]:
    """iputils ping output → napalm's ping result."""
    summary = _SUMMARY.search(output)
    if not summary:
        return {"error": output.strip() or "ping gave no summary"}
    sent, received = int(summary.group(1)), int(summary.group(2))
    rtt = _RTT.search(output)
    rtt_min, rtt_avg, rtt_max, rtt_dev = (float(x) for x in rtt.groups()) if rtt else (0.0, 0.0, 0.0, 0.0)
    return {
        "success": {
            "probes_sent": sent,
            "packet_loss": sent - received,
            "rtt_min": rtt_min,
            "rtt_max": rtt_max,
            "rtt_avg": rtt_avg,
            "rtt_stddev": rtt_dev,
            "results": [{"ip_address": ip, "rtt": float(t)} for ip, t in _REPLY.findall(output)],
        }
    }


#: At most this many neighbour entries are read (a district router has a few dozen).
MAX_ARP_ENTRIES = 4096


def arp_table(text: str) -> list[dict[str, Any]]:
    """``ip -j -4 neigh show`` → napalm's get_arp_table (``age`` unknown: -1.0);
    FAILED/INCOMPLETE entries keep an empty ``mac``."""
    entries = json.loads(text or "[]")[:MAX_ARP_ENTRIES]
    table = []
    for entry in entries:
        states = entry.get("state", [])
        resolved = "lladdr" in entry and not {"FAILED", "INCOMPLETE"} & set(states)
        table.append({"interface": entry.get("dev", ""), "mac": entry.get("lladdr", "").upper() if resolved else "",
                      "ip": entry.get("dst", ""), "age": -1.0, "state": ",".join(states)})
    return table
