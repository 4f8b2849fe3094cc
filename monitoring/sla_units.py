"""The availability report grouped by 2025 commune-level unit, then by network region.

A unit pools the device-time of the commune CPEs of its sites (headquarters and service
points). Sites still awaiting a decision are pooled under a ``pending`` group so their
time is never silently dropped. The grouping is a key function over the devices the
report already has; the time series keep their old labels.
"""

from __future__ import annotations

from typing import Any

from hatang.inventory import reorganisation

PENDING = "pending"


def unit_key(inv: Any, device: Any) -> tuple[str, str] | None:
    """(unit code, unit name) of a commune CPE's site; ``pending`` while undecided; None
    for routers that serve no single commune (core, district routers)."""
    if device.role.value != "commune_cpe":
        return None
    assignment = reorganisation.assignment(inv, inv.sites[device.site])
    if assignment is None:
        return None
    if assignment.unit is None:
        return PENDING, "awaiting a 2025 decision"
    return assignment.unit.code, assignment.unit.name


def group_by_unit(inv: Any, devices: list[Any], figures_cls: type, step_s: float) -> list[dict[str, Any]]:
    """Per 2025 unit: its pooled figures, headquarters, service points and regions."""
    units: dict[str, tuple[Any, dict[str, Any]]] = {}
    for figures in devices:
        device = inv.device_by_name.get(figures.key)
        key = unit_key(inv, device) if device else None
        if key is None:
            continue
        site = inv.sites[device.site]
        pooled, members = units.setdefault(key[0], (figures_cls(key[0], key[1], step_s=step_s, members=0), {"headquarters": None, "service_points": [], "regions": set()}))
        pooled.add(figures)
        pooled.members += 1
        district = inv.district_by_code.get(site.district or "")
        members["regions"].add(district.slug if district else "")
        if reorganisation.role(inv, site) == "headquarters":
            members["headquarters"] = site.key
        else:
            members["service_points"].append(site.key)
    rows = []
    for code, (pooled, members) in sorted(units.items()):
        rows.append({**pooled.as_dict(), "headquarters": members["headquarters"], "service_points": sorted(members["service_points"]), "regions": sorted(members["regions"])})
    return rows
