"""Reachability from the IIC: blackbox_exporter's configuration and targets, and the
topology rules the alerts join against, all from the inventory.

Availability is what the citizens' offices see: whether their site answers from the
IIC. Prometheus' blackbox_exporter (Debian's ``prometheus-blackbox-exporter``) sends one
ICMP echo to each router's loopback every probe interval (5 s or less), so an outage of
one interval or more is seen whatever SNMP's scrape interval is; the loopback is
reachable only over the WAN, so a cut uplink or a dead district router shows.
"""

from __future__ import annotations

import json
from typing import Any

from hatang.inventory.export import device_data
from hatang.monitoring.areas import behind_names, placements

PROBE_MODULE = "icmp_loopback"
BLACKBOX_JOB = "blackbox"


def blackbox_yml(timeout_s: float) -> dict[str, Any]:
    """One ICMP module over IPv4 (the WAN has no IPv6), with a timeout below the probe interval."""
    return {"modules": {PROBE_MODULE: {"prober": "icmp", "timeout": f"{timeout_s:g}s", "icmp": {"preferred_ip_protocol": "ip4", "ip_protocol_fallback": False}}}}


def probe_targets(inv: Any, devices: set[str] | None) -> list[dict[str, Any]]:
    """file_sd entries: each router's loopback, labelled like its SNMP target plus its area."""
    places = placements(inv, devices)
    entries = []
    for name, place in places.items():
        data = device_data(inv, inv.device(name))  # the same labels as the device's SNMP target
        labels = {
            "device": name, "site": data["site"], "role": place.role, "area": place.area,
            "district": data["district"] or "", "gso_code": data["gso_code"] or "", "environment": inv.env,
        }
        entries.append({"targets": [str(inv.loopback(name))], "labels": labels})
    return entries


def probe_targets_json(inv: Any, devices: set[str] | None) -> str:
    return json.dumps(probe_targets(inv, devices), indent=2, ensure_ascii=False) + "\n"


def topology_rules(inv: Any, devices: set[str] | None) -> dict[str, Any]:
    """Static series the alerts join against: each router's area, upstream and the sites
    behind it (so one page names them), and each WAN link's area (its downstream end's)."""
    places = placements(inv, devices)
    rules: list[dict[str, Any]] = []
    for place in places.values():
        labels = {"device": place.device, "area": place.area, "upstream": place.upstream,
                  "behind": behind_names(inv, place), "behind_count": str(len(place.behind))}
        rules.append({"record": "hatang_device_topology", "expr": "vector(1)", "labels": labels})
    for link in inv.links_in_env:
        if link.a.device in places and link.b.device in places:
            rules.append({"record": "hatang_link_topology", "expr": "vector(1)", "labels": {"link": link.id, "area": places[link.b.device].area}})
    return {"groups": [{"name": "hatang-topology", "rules": rules}]}
