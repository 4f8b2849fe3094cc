"""The 2025 reorganisation: every commune site's unit, validation, restructure, labels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hatang.errors import InventoryError
from hatang.inventory import load
from hatang.inventory.export import export
from hatang.inventory.tools.reorg2025 import build, fold

HATANG = [sys.executable, "-m", "hatang.cli"]


def hatang(*args: str, state: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "HATANG_STATE_DIR": str(state)}
    return subprocess.run([*HATANG, *args], capture_output=True, text=True, timeout=120, env=env)


def edit(directory: Path, change) -> None:
    path = directory / "reorganisation.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_show_json_gives_every_commune_its_unit_or_why_not(tmp_path: Path) -> None:
    done = hatang("inventory", "show", "--json", state=tmp_path)
    assert done.returncode == 0, done.stderr
    communes = json.loads(done.stdout)["communes"]
    inv = load(None, "lab")
    assert {c["code"] for c in communes} == set(inv.commune_by_code)
    mapped = [c for c in communes if c["unit_2025"]["status"] == "mapped"]
    waiting = [c for c in communes if c["unit_2025"]["status"] == "awaiting-decision"]
    assert len(mapped) + len(waiting) == len(communes)
    # the issue counted 113 by name; folding "Xã " before the accents also finds Phương Khoan
    assert len(mapped) == 114 and len({c["unit_2025"]["unit"]["code"] for c in mapped}) == 36
    assert all(c["unit_2025"]["reason"] and c["unit_2025"]["unit"] is None for c in waiting)
    tich_son = next(c for c in communes if c["site"] == "tich-son")
    assert tich_son["unit_2025"]["unit"]["name"] == "Phường Vĩnh Yên" and tich_son["name"] == "Phường Vĩnh Yên, Tích Sơn cũ"
    assert tich_son["region"] == "vinh-yen"


def test_each_unit_has_one_headquarters_and_its_other_sites_are_service_points() -> None:
    inv = load(None, "lab")
    from hatang.inventory import reorganisation as reorg

    by_unit: dict[str, list[str]] = {}
    for _, commune in inv.communes:
        site = inv.sites[commune.slug]
        a = reorg.assignment(inv, site)
        if a.unit:
            by_unit.setdefault(a.unit.code, []).append(reorg.role(inv, site))
    assert by_unit and all(roles.count("headquarters") == 1 for roles in by_unit.values())


def test_fold_strips_the_unit_type_not_a_name_that_looks_like_it() -> None:
    assert fold("Xã Phương Khoan") == fold("Phương Khoan") == "phuong khoan"
    assert fold("Phường Đống Đa") == fold("Đống Đa") == "dong da"
    assert fold("Thị Trấn Lập Thạch") == "lap thach"


def test_generator_reproduces_the_committed_mapping() -> None:
    pytest.importorskip("vietnam_address_converter")
    from hatang.paths import DEFAULT_INVENTORY

    province = yaml.safe_load((DEFAULT_INVENTORY / "province.yaml").read_text(encoding="utf-8"))
    committed = yaml.safe_load((DEFAULT_INVENTORY / "reorganisation.yaml").read_text(encoding="utf-8"))
    assert build(province)["communes"] == committed["communes"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["communes"].pop(0), "is unmapped"),
        (lambda d: d["communes"].append(dict(d["communes"][0])), "is mapped twice"),
        (lambda d: d.setdefault("decisions", []).append({"commune": d["communes"][0]["commune"], "unit": d["communes"][0]["unit"], "source": "test", "decided_by": "x", "date": "2026-12-05"}), "is mapped twice"),
        (lambda d: d["communes"][0].pop("unit"), "needs exactly one of 'unit' or 'pending'"),
        (lambda d: d["communes"][0].update(unit="99999"), "unknown 2025 unit '99999'"),
        (lambda d: d["headquarters"].update({"08707": "hung-vuong"}), "is not in unit 08707"),
        (lambda d: d.setdefault("decisions", []).append({"commune": "08734", "unit": "08740", "decided_by": "x", "date": "2026-12-05"}), "decisions[0].source: Field required"),
    ],
)
def test_validation_refuses_bad_mappings(inventory_copy: Path, change, message: str) -> None:
    edit(inventory_copy, change)
    with pytest.raises(InventoryError) as caught:
        load(inventory_copy, "lab")
    assert any(message in d and "reorganisation.yaml" in d for d in caught.value.details), caught.value.details


def test_a_persons_decision_is_recorded_with_its_source(inventory_copy: Path) -> None:
    decision = {"commune": "08734", "unit": "08740", "source": "Nghị quyết (test)", "decided_by": "iic-ops", "date": "2026-12-05"}
    edit(inventory_copy, lambda d: d.setdefault("decisions", []).append(decision))
    inv = load(inventory_copy, "lab")
    from hatang.inventory.views import site_detail

    unit = site_detail(inv, "trung-trac")["unit_2025"]
    assert unit["status"] == "decided" and unit["unit"]["code"] == "08740" and unit["source"] == "Nghị quyết (test)"


def test_restructure_applies_once_and_renumbers_nothing(inventory_copy: Path, tmp_path: Path) -> None:
    edit(inventory_copy, lambda d: d.pop("headquarters"))
    before = {name: (str(inv_mgmt), str(lo)) for name, inv_mgmt, lo in _addresses(inventory_copy)}
    first = hatang("inventory", "restructure", "--inventory", str(inventory_copy), "--apply", "--json", state=tmp_path / "state")
    assert first.returncode == 0, first.stderr
    plan = json.loads(first.stdout)
    assert len(plan["headquarters_set"]) == len(plan["units"]) == 36
    for unit in plan["units"]:
        sites = [s["site"] for s in unit["sites"]]
        assert sorted([unit["headquarters"], *unit["service_points"]]) == sorted(sites)
        for site in unit["sites"]:
            for device in site["devices"]:
                assert device["addresses"]["renumbered"] is False
                assert device["labels_added"]["commune_2025"] == unit["unit"]["name"]
                assert device["description"]["after"].startswith(unit["unit"]["name"])
    second = hatang("inventory", "restructure", "--inventory", str(inventory_copy), "--apply", "--json", state=tmp_path / "state")
    assert json.loads(second.stdout)["headquarters_set"] == {}
    assert {name: (str(m), str(lo)) for name, m, lo in _addresses(inventory_copy)} == before
    audit = [json.loads(line) for f in (tmp_path / "state").rglob("restructure*") for line in f.read_text().splitlines()]
    assert len(audit) == 1 and audit[0]["headquarters_set"] == plan["headquarters_set"]  # only the first apply changed anything


def _addresses(directory: Path):
    inv = load(directory, "lab")
    return [(r.name, inv.mgmt(r.name), inv.loopback(r.name)) for r in inv.routers()]


def test_prometheus_targets_carry_commune_2025_and_region_and_keep_old_labels() -> None:
    inv = load(None, "lab")
    targets = {t["labels"]["device"]: t["labels"] for t in json.loads(export(inv, "prometheus-sd")["targets.json"])}
    cpe = targets["cpe-tich-son"]
    assert cpe["commune_2025"] == "Phường Vĩnh Yên" and cpe["region"] == "vinh-yen"
    assert cpe["district"] == "vinh-yen" and cpe["site"] == "tich-son" and cpe["gso_code"] == "08707"  # history continues
    assert targets["cpe-trung-trac"]["commune_2025"] == ""  # awaiting a decision: no guess
    groups = yaml.safe_load(export(inv, "nornir")["hosts.yaml"])["cpe-tich-son"]["groups"]
    assert {"district_vinh_yen", "region_vinh_yen", "commune_2025_08707"} <= set(groups)


def test_validate_counts_the_sites_awaiting_a_decision(tmp_path: Path) -> None:
    done = hatang("inventory", "validate", "--json", state=tmp_path)
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)["communes_2025"]
    assert sum(counts.values()) == 136 and counts["awaiting-decision"] == 22


def test_restructure_without_the_file_says_how_to_make_it(inventory_copy: Path, tmp_path: Path) -> None:
    (inventory_copy / "reorganisation.yaml").unlink()
    assert load(inventory_copy, "lab").reorganisation is None  # an inventory from before 2025 still loads
    done = hatang("inventory", "restructure", "--inventory", str(inventory_copy), state=tmp_path)
    assert done.returncode != 0 and "reorganisation.yaml is missing" in done.stderr and "reorg2025" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_site_added_later_waits_for_a_decision(inventory_copy: Path) -> None:
    from hatang.inventory.views import site_detail
    from hatang.network.sites import add_commune

    add_commune(inventory_copy, district="vinh-yen", code="08799", name="Thử Nghiệm")
    unit = site_detail(load(inventory_copy, "lab"), "thu-nghiem")["unit_2025"]
    assert unit["status"] == "awaiting-decision" and "hatang site add" in unit["reason"]
    text = (inventory_copy / "reorganisation.yaml").read_text(encoding="utf-8")
    assert text.startswith("# The 2025 reorganisation") and "headquarters:" in text  # the rest of the file kept
