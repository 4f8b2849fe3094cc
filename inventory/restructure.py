"""``hatang inventory restructure``: the province's sites regrouped under their 2025 units.

The plan shows, per 2025 unit, its headquarters and service points, and per site what
changes for users: the name it is shown by (2025 unit first, old name second), its
monitoring labels and groups. Nothing is renumbered: addresses, device names and links
stay. Applying records each unit's headquarters in ``reorganisation.yaml`` (a unit
without one gets the site named like the unit, else its lowest GSO code); a second
apply finds nothing to do. A later ``net push`` carries the new descriptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hatang.inventory import reorganisation as reorg
from hatang.inventory.export import device_data, groups_of, prometheus_labels
from hatang.inventory.inventory import Inventory
from hatang.inventory.tools.reorg2025 import fold


@dataclass
class Plan:
    units: list[dict[str, Any]] = field(default_factory=list)
    awaiting: list[dict[str, Any]] = field(default_factory=list)
    headquarters_to_set: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"units": self.units, "awaiting_decision": self.awaiting, "headquarters_to_set": self.headquarters_to_set}


def _proposed_headquarters(unit: reorg.Unit, sites: list[Any]) -> str:
    """The site named like the unit, else the one with the lowest GSO code."""
    same = [s for s in sites if fold(s.name) == fold(unit.name)]
    return (same or sorted(sites, key=lambda s: s.code))[0].key


def _site_changes(inv: Inventory, site: Any) -> dict[str, Any]:
    devices = inv.devices_by_site.get(site.key, [])
    changes = []
    for device in devices:
        data = device_data(inv, device)
        labels = prometheus_labels(inv, device, data)
        changes.append(
            {
                "device": device.name,
                "description": {"before": site.name, "after": reorg.display_name(inv, site)},
                "labels_added": {k: labels[k] for k in ("commune_2025", "commune_2025_code", "region")},
                "groups_added": [g for g in groups_of(device, data) if not g.startswith(("role_", "district_"))],
                "addresses": {"loopback": str(inv.loopback(device.name)), "mgmt": str(inv.mgmt(device.name)), "renumbered": False},
            }
        )
    return {"site": site.key, "code": site.code, "old_name": site.name, "name": reorg.display_name(inv, site), "devices": changes}


def plan(inv: Inventory) -> Plan:
    if inv.reorganisation is None:
        from hatang.errors import InventoryError

        raise InventoryError(f"{inv.directory / reorg.FILE} is missing: generate it with 'python -m hatang.inventory.tools.reorg2025'")
    result = Plan()
    by_unit: dict[str, list[Any]] = {}
    for _, commune in inv.communes:
        site = inv.sites[commune.slug]
        a = reorg.assignment(inv, site)
        if a is None or a.unit is None:
            result.awaiting.append({"site": site.key, "code": site.code, "name": site.name, "reason": a.reason if a else "no entry", "candidates": list(a.candidates) if a else []})
            continue
        by_unit.setdefault(a.unit.code, []).append(site)
    headquarters = inv.reorganisation.headquarters
    for code, sites in sorted(by_unit.items()):
        unit = inv.reorganisation.unit_by_code[code]
        hq = headquarters.get(code)
        if hq is None:
            hq = result.headquarters_to_set[code] = _proposed_headquarters(unit, sites)
        result.units.append(
            {
                "unit": {"code": unit.code, "name": unit.name, "type": unit.type},
                "headquarters": hq,
                "service_points": sorted(s.key for s in sites if s.key != hq),
                "sites": [_site_changes(inv, s) for s in sites],
            }
        )
    return result


def write_headquarters(directory: Path, headquarters: dict[str, str]) -> None:
    """Replace the ``headquarters:`` block of reorganisation.yaml, the rest byte for byte."""
    path = directory / reorg.FILE
    text = path.read_text(encoding="utf-8")
    block = yaml.safe_dump({"headquarters": dict(sorted(headquarters.items()))}, sort_keys=False, allow_unicode=True)
    pattern = re.compile(r"^headquarters:.*?(?=^\S|\Z)", re.S | re.M)
    text = pattern.sub(lambda _: block, text, count=1) if pattern.search(text) else text.rstrip("\n") + "\n" + block
    path.write_text(text, encoding="utf-8")


def apply(inv: Inventory, result: Plan) -> dict[str, str]:
    """Record the missing headquarters; returns what was set (empty: nothing to do)."""
    if result.headquarters_to_set:
        write_headquarters(inv.directory, {**inv.reorganisation.headquarters, **result.headquarters_to_set})
    return result.headquarters_to_set
