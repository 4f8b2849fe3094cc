"""Where each router sits for alerting: its area, what it hangs from, and what hangs from it.

An *area* is the district a router serves (the district router and its communes), or
``core`` for the data center's routers. Alertmanager groups by area (one page per area
and cause) and inhibits along the tree: a district router unreachable mutes its area,
the core unreachable mutes everything (``monitoring/alertmanager.py``). The tree is the
inventory's: a router's upstream is the peer of its uplink port.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CORE_AREA = "core"


@dataclass(frozen=True)
class Placement:
    device: str
    role: str
    area: str
    site_name: str
    upstream: str  # "" for the core
    behind: tuple[str, ...]  # every router whose path to the IIC passes through this one


def area_of(inv: Any, device_name: str) -> str:
    """The district slug a router serves, or ``core`` for the data center's routers."""
    device = inv.device(device_name)
    if device.role.value == "core":
        return CORE_AREA
    site = inv.sites[device.site]
    district = inv.district_by_code.get(site.district or "")
    return district.slug if district else CORE_AREA


def placements(inv: Any, devices: set[str] | None = None) -> dict[str, Placement]:
    """Every router (of ``devices`` when given), by name, with its place in the tree."""
    names = [d.name for d in inv.routers() if devices is None or d.name in devices]
    present = set(names)
    upstream = {}
    children: dict[str, list[str]] = {name: [] for name in names}
    for name in names:
        port = inv.uplink(name)
        parent = port.peer if port is not None and port.peer in present else ""
        upstream[name] = parent
        if parent:
            children[parent].append(name)

    def below(name: str, seen: frozenset[str]) -> list[str]:
        found = []
        for child in sorted(children[name]):
            if child not in seen:  # the inventory's checks forbid loops; never recurse forever anyway
                found += [child, *below(child, seen | {child})]
        return found

    return {
        name: Placement(
            device=name,
            role=inv.device(name).role.value,
            area=area_of(inv, name),
            site_name=inv.sites[inv.device(name).site].name,
            upstream=upstream[name],
            behind=tuple(below(name, frozenset({name}))),
        )
        for name in names
    }


def behind_names(inv: Any, place: Placement) -> str:
    """The sites behind a router, by name, for a page: "Tích Sơn, Liên Bảo, …"."""
    return ", ".join(inv.sites[inv.device(name).site].name for name in place.behind)
