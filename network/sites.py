"""``hatang site add``: a new commune in the inventory, its CPE, its link, its addresses.

Everything is done on a copy of the inventory first: the records are appended as text
(the files' comments and layout stay exactly as they are), addresses are allocated in
both plans (existing allocations never move), and the copy must validate in both
environments. Only then are the changed files moved over the originals.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hatang.errors import HatangError
from hatang.inventory import model as m
from hatang.inventory.allocate import allocate
from hatang.inventory.inventory import Inventory
from hatang.inventory.load import load
from hatang.inventory.model import ENVIRONMENTS
from hatang.inventory.reorganisation import FILE as REORGANISATION
from hatang.inventory.text import refusal
from hatang.network.intent import ascii_fold
from hatang.paths import DEFAULT_INVENTORY

COMMUNE_KINDS = ("xa", "phuong", "thi-tran")
CHANGED_FILES = ("province.yaml", "network.yaml", *(f"addressing/{env}.yaml" for env in ENVIRONMENTS))
#: a commune added after the 2025 list waits, like any unmapped site, for a person's decision
PENDING_NEW_SITE = "added with 'hatang site add' after the 2025 lists were generated: record its 2025 unit in 'decisions'"
DEFAULT_CPE = (m.Platform.ios, "ISR1111-4P")
CPE_UPLINK_PORT, CPE_LAN_PORT = 0, 1


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", ascii_fold(name).lower()).strip("-")


def append_to_list(text: str, key: str, item: dict) -> str:
    """``text`` (a YAML file) with ``item`` appended to its top-level list ``key``,
    everything else byte for byte as it was."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(rf"^{re.escape(key)}:", line)), None)
    if start is None:
        raise HatangError(f"no top-level '{key}:' list to append to")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^[^\s#-]", lines[i])), len(lines))
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1  # blank lines and comments just above the next key belong to it
    block = yaml.safe_dump([item], sort_keys=False, allow_unicode=True, default_flow_style=False)
    if lines and end == len(lines) and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return "".join(lines[:end]) + block + "".join(lines[end:])


@dataclass
class SiteAddition:
    commune: dict
    device: dict
    link: dict
    allocations: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"commune": self.commune, "device": self.device, "link": self.link, "allocations": self.allocations}


def _district(inv: Inventory, query: str) -> m.District:
    for district in inv.district_by_code.values():
        if query in (district.code, district.slug) or slugify(query) == district.slug:
            return district
    known = ", ".join(f"{d.code} {d.slug}" for d in inv.district_by_code.values())
    raise HatangError(f"unknown district '{query}' (known: {known})")


def _free_port(inv: Inventory, router: str) -> int:
    used = {end.port for _, link in inv.links for end in (link.a, link.b) if end.device == router}
    lan = inv.device(router).lan_port
    used |= {lan} if lan is not None else set()
    return min(set(range(len(used) + 1)) - used)


def plan_commune(inv: Inventory, *, district: str, code: str, name: str, kind: str = "xa") -> SiteAddition:
    """The records of a new commune, checked against the inventory (nothing written)."""
    if not re.fullmatch(r"\d{5}", code):
        raise HatangError(f"GSO code '{code}' must be 5 digits (a commune code, e.g. 08707)")
    if kind not in COMMUNE_KINDS:
        raise HatangError(f"commune type '{kind}' must be one of {', '.join(COMMUNE_KINDS)}")
    if not name.strip():
        raise HatangError("the commune needs a name (--name)")
    reason = refusal(name)
    if reason:
        raise HatangError(f"commune name {name!r} (--name): {reason}", exit_code=2)
    if code in inv.commune_by_code:
        other = inv.commune_by_code[code]
        raise HatangError(f"commune {code} already exists: {other.name} ({other.slug}) in province.yaml")
    parent = _district(inv, district)
    same_name = [c for c in inv.commune_by_code.values() if c.name == name.strip() and c.district == parent.code]
    if same_name:
        raise HatangError(f"district {parent.name} already has a commune named {name!r} (GSO {same_name[0].code})")
    slug = slugify(name)
    if slug in inv.sites:
        slug = f"{slug}-{parent.slug}"
    device_name = f"cpe-{slug}"
    if slug in inv.sites or device_name in {d.name for _, d in inv.devices}:
        raise HatangError(f"site '{slug}' or device '{device_name}' already exists in the inventory")
    router = next((d for d in inv.devices_by_site.get(parent.slug, []) if d.role == m.Role.district), None)
    if router is None:
        raise HatangError(f"district {parent.name} has no district router in network.yaml")
    cpes = Counter((d.platform, d.model) for _, d in inv.devices if d.role == m.Role.commune_cpe and inv.sites[d.site].district == parent.code)
    platform, model = cpes.most_common(1)[0][0] if cpes else DEFAULT_CPE
    return SiteAddition(
        commune={"code": code, "name": name.strip(), "type": kind, "slug": slug, "district": parent.code},
        device={"name": device_name, "site": slug, "role": "commune_cpe", "platform": platform.value, "model": model, "lan_port": CPE_LAN_PORT},
        link={"a": {"device": router.name, "port": _free_port(inv, router.name)}, "b": {"device": device_name, "port": CPE_UPLINK_PORT}, "medium": "fibre", "bandwidth_mbps": 100},
    )


def add_commune(directory: Path | None, *, district: str, code: str, name: str, kind: str = "xa") -> SiteAddition:
    """Add the commune to the inventory in ``directory``, all or nothing."""
    directory = Path(directory or DEFAULT_INVENTORY)
    addition = plan_commune(load(directory, "production"), district=district, code=code, name=name, kind=kind)
    with tempfile.TemporaryDirectory(prefix="hatang-site-") as tmp:
        copy = Path(tmp) / "inventory"
        shutil.copytree(directory, copy)
        edits = [("province.yaml", "communes", addition.commune), ("network.yaml", "devices", addition.device), ("network.yaml", "links", addition.link)]
        if (copy / REORGANISATION).exists():
            edits.append((REORGANISATION, "communes", {"commune": code, "name": addition.commune["name"], "pending": PENDING_NEW_SITE, "candidates": []}))
        for file, key, item in edits:
            path = copy / file
            path.write_text(append_to_list(path.read_text(encoding="utf-8"), key, item), encoding="utf-8")
        for env in ENVIRONMENTS:
            addition.allocations[env] = allocate(copy, env).added
            load(copy, env)  # the result must validate in both environments
        for file in (*CHANGED_FILES, *(f for f in (REORGANISATION,) if (copy / f).exists())):
            target = directory / file
            staged = target.with_name(f".{target.name}.hatang-new")
            shutil.copyfile(copy / file, staged)
            os.replace(staged, target)
    return addition
