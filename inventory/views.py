"""Plain-data views of the inventory for ``show`` and ``--json``."""

from __future__ import annotations

from typing import Any

from hatang.inventory import model as m
from hatang.inventory import reorganisation
from hatang.inventory.inventory import Inventory, Site


def device_view(inv: Inventory, device: m.Device) -> dict[str, Any]:
    has_loopback = device.role != m.Role.firewall
    return {
        "name": device.name,
        "role": device.role.value,
        "platform": inv.platform(device).value,
        "model": device.model,
        "mgmt": str(inv.mgmt(device.name)),
        "loopback": str(inv.loopback(device.name)) if has_loopback else None,
        "ports": [
            {
                "index": p.index,
                "name": p.name,
                "kind": p.kind,
                "address": str(p.address),
                "peer": p.peer,
                "peer_address": str(p.peer_address) if p.peer_address else None,
                "bandwidth_mbps": p.bandwidth_mbps,
            }
            for p in inv.ports(device.name)
        ]
        if has_loopback
        else [],
    }


def site_detail(inv: Inventory, query: str) -> dict[str, Any]:
    site = inv.find_site(query)
    devices = inv.devices_by_site.get(site.key, [])
    lan = next((str(inv.lan(site.key)) for d in devices if d.lan_port is not None), None)
    return {
        "key": site.key,
        "kind": site.kind,
        "name": site.name,
        "code": site.code,
        "district": site.district,
        "display_name": reorganisation.display_name(inv, site),
        "unit_2025": unit_view(inv, site),
        "lan": lan,
        "devices": [device_view(inv, d) for d in devices],
    }


def district_rows(inv: Inventory) -> list[dict[str, Any]]:
    rows = []
    for _, district in inv.districts:
        router = next((d for d in inv.devices_by_site.get(district.slug, []) if d.role == m.Role.district), None)
        rows.append(
            {
                "code": district.code,
                "name": district.name,
                "communes": sum(1 for _, c in inv.communes if c.district == district.code),
                "router": router.name if router else None,
                "loopback": str(inv.loopback(router.name)) if router else None,
                "mgmt": str(inv.mgmt(router.name)) if router else None,
            }
        )
    return rows


def unit_view(inv: Inventory, site: Site) -> dict[str, Any] | None:
    """A commune site's 2025 unit, its role there, or why it awaits a decision."""
    a = reorganisation.assignment(inv, site)
    if a is None:
        return None
    return {
        "status": a.status,
        "unit": {"code": a.unit.code, "name": a.unit.name, "type": a.unit.type} if a.unit else None,
        "role": reorganisation.role(inv, site),
        "source": a.source or None,
        "reason": a.reason,
        "candidates": list(a.candidates),
    }


def commune_rows(inv: Inventory) -> list[dict[str, Any]]:
    """Every commune site with its region (the old district) and its 2025 unit."""
    rows = []
    for _, commune in inv.communes:
        site = inv.sites[commune.slug]
        district = inv.district_by_code.get(commune.district)
        rows.append(
            {
                "site": site.key,
                "code": commune.code,
                "name": reorganisation.display_name(inv, site),
                "old_name": commune.name,
                "region": district.slug if district else None,
                "unit_2025": unit_view(inv, site),
            }
        )
    return rows
