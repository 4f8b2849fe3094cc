"""The whole report from the example inputs: files, charts, CSV and JSON that agree."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from hatang.cloud.capacity.catalog import EXAMPLES
from hatang.inventory.load import load

HISTORY = EXAMPLES / "history.csv"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hatang.cloud.capacity.render import write_report
    from hatang.cloud.capacity.report import build_report

    directory = tmp_path_factory.mktemp("report")
    report = build_report(load(None, "lab"), horizon_years=5, history_path=HISTORY, drivers_path=EXAMPLES / "drivers.yaml")
    write_report(report, directory)
    return directory


def test_json_matches_the_inventory_and_the_history(hatang) -> None:
    run = hatang("capacity", "report", "--history", str(HISTORY), "--json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    inv = load(None, "lab")
    last_month = max(row[0] for row in csv.reader(HISTORY.open()) if row and row[0][:2] == "20")
    assert data["start"] > last_month and data["files"] == []
    for cluster in data["clusters"]:
        nodes = inv.cluster_by_name[cluster["name"]].nodes
        vms = [vm for vm in inv.vms() if vm.cluster == cluster["name"]]
        assert cluster["physical"]["cores"] == sum(n.cores for n in nodes)
        assert cluster["physical"]["ram_gib"] == sum(n.ram_gib for n in nodes)
        assert cluster["allocated"]["vms"] == len(vms)
        assert cluster["vcpu_per_core"]["all"] == pytest.approx(sum(vm.spec.cores for vm in vms) / sum(n.cores for n in nodes))
        assert cluster["history"]["last"] == last_month
        assert len(cluster["forecast"]) == 60
        outlook = {(o["resource"], o["rule"]): o for o in cluster["outlook"]}
        for (resource, rule), o in outlook.items():
            assert o["headroom"] == pytest.approx(o["limit"] - o["need_now"])
            assert o["runs_out"] is None or o["runs_out"] >= data["start"]
            if rule == "N":  # losing nodes never gives more room
                assert outlook[(resource, "N+1")]["limit"] <= o["limit"] and outlook[(resource, "N+2")]["limit"] <= outlook[(resource, "N+1")]["limit"]
    assert data["cost_vnd"] == sum(data["budget_by_year"].values())
    assert {r["en"][:4] for r in data["rules"]["text"]} == {"RAM ", "vCPU", "N+1:", "Ceph", "Loca", "Thin"}


def test_recommendation_keeps_n1_every_month(written: Path) -> None:
    rows = list(csv.DictReader((written / "forecast.csv").open()))
    assert rows and all(float(r["need"]) <= float(r["limit_nplus1_recommended"]) + 1e-6 for r in rows if not r["resource"].startswith("storage:backup"))
    actions = list(csv.DictReader((written / "recommendation.csv").open()))
    # the example's servers are all past five years of service at the start: each is replaced then
    inv = load(None, "lab")
    replaced = {name for a in actions if a["action"] == "replace" for name in a["replaces"].split()}
    assert {n.name for c in inv.cluster_by_name.values() for n in c.nodes} <= replaced


def test_files_and_charts(written: Path) -> None:
    names = {p.relative_to(written).as_posix() for p in written.rglob("*") if p.is_file()}
    from hatang.cloud.capacity.tables import CSV_FILES

    assert names == {"report.md", "report.html", "charts/headroom.png", "charts/pve-core.png", "charts/pve-dmz.png", *CSV_FILES}
    for png in written.glob("charts/*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    md = (written / "report.md").read_text(encoding="utf-8")
    for ref in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (written / ref).is_file()
    for heading in ("Tóm tắt / Summary", "Quy tắc dự phòng / Headroom rules", "Giả định", "Động lực nhu cầu / Demand drivers", "Khuyến nghị / Recommendation", "Official mailboxes"):
        assert heading in md
    html = (written / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 3
    assert "<table>" in html and "<script" not in html and "**" not in html
    assert unclosed_tags(html) == []


def unclosed_tags(text: str) -> list[str]:
    """Tags opened and not closed in order (an empty list: the page is well nested)."""
    from html.parser import HTMLParser

    class Nesting(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.open: list[str] = []
            self.wrong: list[str] = []

        def handle_starttag(self, tag: str, attrs: list) -> None:
            if tag not in ("meta", "img"):
                self.open.append(tag)

        def handle_endtag(self, tag: str) -> None:
            if self.open and self.open[-1] == tag:
                self.open.pop()
            else:
                self.wrong.append(tag)

    parser = Nesting()
    parser.feed(text)
    return parser.open + parser.wrong


def test_csv_tables_are_consistent(written: Path) -> None:
    outlook = list(csv.DictReader((written / "outlook.csv").open()))
    forecast = list(csv.DictReader((written / "forecast.csv").open()))
    for row in outlook:
        series = [f for f in forecast if f["cluster"] == row["cluster"] and f["resource"] == row["resource"]]
        assert len(series) == 60
        over = [f["month"] for f in series if float(f["need"]) > float(row["limit"]) + 1e-6]
        # "runs out" is the first forecast month whose need passes the limit (CSV rounding aside)
        assert row["runs_out"] == (over[0] if over else "") or abs(float(series[0]["need"]) - float(row["limit"])) < 0.01


def test_console_tables(hatang, tmp_path: Path) -> None:
    run = hatang("capacity", "report", "--history", str(HISTORY), "--no-drivers", "--cluster", "pve-dmz", "-o", str(tmp_path / "r"))
    assert run.code == 0, run.err
    assert "When each resource runs out" in run.out and "pve-core" not in run.out
    assert (tmp_path / "r" / "report.html").is_file()


def test_a_new_service_already_started_is_flagged(tmp_path: Path, hatang) -> None:
    drivers = tmp_path / "drivers.yaml"
    drivers.write_text(
        "new_services:\n- name: old-news\n  cluster: pve-dmz\n  class: standard\n  start: 2020-01\n"
        "  vms: [{count: 2, cores: 4, memory_gib: 8, disks: {ceph-dmz: 100}}]\n",
        encoding="utf-8",
    )
    run = hatang("capacity", "report", "--history", str(HISTORY), "--drivers", str(drivers), "--cluster", "pve-dmz", "--json")
    assert run.code == 0, run.err
    cluster = json.loads(run.out)["clusters"][0]
    assert any(note.startswith("new service old-news starts 2020-01, before the forecast") for note in cluster["notes"])
    # counted from the first forecast month: 2 × 8 GiB on top of the allocation grown by the trend
    inv = load(None, "lab")
    declared = sum(vm.spec.memory_mib for vm in inv.vms() if vm.cluster == "pve-dmz") / 1024
    ram_now = next(o for o in cluster["outlook"] if o["resource"] == "ram" and o["rule"] == "N")["need_now"]
    trend = cluster["trends"]["ram"]  # the first forecast month is one month past the base
    assert ram_now == pytest.approx(declared * (trend["at_base"] + trend["slope_per_month"]) / trend["at_base"] + 2 * 8)
