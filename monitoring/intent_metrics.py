"""The inventory's intent as metrics, so alert rules can join what is against what should be.

SNMP tells which interfaces are down; only the inventory says which of them are WAN
links, to whom, and at what contracted bandwidth (a 100 Mbit/s leased line on a
1 Gbit/s port reports ifHighSpeed 1000, which would hide saturation).
"""

from __future__ import annotations

from typing import Any

from prometheus_client.metrics_core import Metric

from hatang.monitoring.exposition import render_families


def inventory_families(inv: Any) -> list[Metric]:
    info = Metric("hatang_wan_port_info", "A WAN port the inventory declares: device, interface, direction, peer and link.", "gauge")
    bandwidth = Metric("hatang_wan_port_bandwidth_bits", "Contracted bandwidth of the WAN link on this port, in bits per second.", "gauge")
    for device in inv.routers():
        for port in inv.ports(device.name):
            if port.link is None:
                continue
            labels = {"device": device.name, "ifName": port.name, "kind": port.kind, "peer": port.peer or "", "link": port.link.id}
            info.add_sample(info.name, labels, 1)
            bandwidth.add_sample(bandwidth.name, labels, port.bandwidth_mbps * 1e6)
    return [info, bandwidth]


def inventory_metrics(inv: Any) -> bytes:
    return render_families(inventory_families(inv))
