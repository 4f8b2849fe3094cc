"""Where each router sits for alerting: its area, what it hangs from, and what hangs from it.

An *area* is the network region a router serves (a former district, since the 2025
reorganisation: its aggregation router and its communes), or ``core`` for the data
center's routers. Alertmanager groups by area (one page per area
and cause) and inhibits along the tree: a region's router unreachable mutes its area,
the core unreachable mutes everything (``monitoring/alertmanager.py``). The tree is the
inventory's: a router's upstream is the peer of its uplink port.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hatang.inventory.reorganisation import display_name

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
    """The region (its former district's slug) a router serves, or ``core`` for the data center's routers."""
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
            site_name=display_name(inv, inv.sites[inv.device(name).site]),
            upstream=upstream[name],
            behind=tuple(below(name, frozenset({name}))),
        )
        for name in names
    }


#: between the sites of ``behind``: a name itself holds a comma ("Phường Vĩnh Yên, Tích Sơn cũ")
BEHIND_SEPARATOR = "; "


#: Sites a page names before it counts the rest: a region's aggregation router (up to
#: about 30 communes) is named in full; the core's page (136 sites, 547 merged) would pass
#: a phone message's 4,096 characters.
BEHIND_SHOWN = 30


def behind_names(inv: Any, place: Placement) -> str:
    """The sites behind a router, by the name users read (the 2025 unit first, the old
    name second), for a page: "Phường Vĩnh Yên, Tích Sơn cũ; Phường Vĩnh Phúc, Liên Bảo cũ";
    past :data:`BEHIND_SHOWN`, the first ones and how many more."""
    names = [display_name(inv, inv.sites[inv.device(name).site]) for name in place.behind]
    if len(names) > BEHIND_SHOWN:
        names = [*names[:BEHIND_SHOWN], f"… and {len(names) - BEHIND_SHOWN} more"]
    return BEHIND_SEPARATOR.join(names)
