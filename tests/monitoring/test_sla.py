"""``hatang sla report`` against a real Prometheus holding known history.

The history is backfilled with ``promtool tsdb create-blocks-from openmetrics`` (real
TSDB blocks, the way operators import old data), so the expected figures follow from
the input: cpe-tich-son loses two outages of 20 and 10 minutes in a 6-hour period; in
the first, dr-vinh-yen's SNMP says its port towards cpe-tich-son was down (a link), the
second has no other evidence (unknown) unless a maintenance window declares it.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from mon_agent import backfilled_prometheus, free_tcp_port

from hatang.inventory import load

STEP_S = 60
HOURS = 6
OUTAGES = [(60, 80), (200, 210)]  # minutes after the start when cpe-tich-son is down
HATANG = [sys.executable, "-m", "hatang.cli"]


def history(inv, start: datetime) -> str:
    lines = ["# TYPE hatang:device_available gauge"]
    devices = [d for d in inv.lab_devices("small")]
    for device in devices:
        site = inv.sites[device.site]
        district = inv.district_by_code[site.district].slug if site.district else ""
        labels = (f'device="{device.name}",site="{device.site}",district="{district}",role="{device.role.value}",'
                  f'gso_code="{site.code or ""}",job="snmp",instance="{inv.mgmt(device.name).ip}"')
        for minute in range(HOURS * 60 + 1):
            down = device.name == "cpe-tich-son" and any(a <= minute < b for a, b in OUTAGES)
            lines.append(f"hatang:device_available{{{labels}}} {0 if down else 1} {int(start.timestamp()) + minute * STEP_S}")
    port = far_end_port(inv)
    lines.append("# TYPE ifOperStatus gauge")
    for minute in range(HOURS * 60 + 1):
        down = OUTAGES[0][0] <= minute < OUTAGES[0][1]
        lines.append(f'ifOperStatus{{job="snmp",device="dr-vinh-yen",ifName="{port}"}} {2 if down else 1} {int(start.timestamp()) + minute * STEP_S}')
    return "\n".join(lines + backup_history(start)) + "\n# EOF\n"


def far_end_port(inv) -> str:
    return next(p.name for p in inv.ports("dr-vinh-yen") if p.peer == "cpe-tich-son")


DB_RPO_S, DB_BACKUPS_H = 3600, (0, 4)  # db-pg-01's RPO, and the hours (from the start) of its two backups


def backup_history(start: datetime) -> list[str]:
    """What 'cloud backups --textfile' would have fed: qlvb always fresh; db-pg-01 (csdl)
    backed up at the start and 4 hours in: within its 1-hour RPO for 2 of the 6 hours."""
    out = ["# TYPE hatang_backup_last_success_timestamp_seconds gauge", "# TYPE hatang_backup_rpo_seconds gauge"]
    t0 = int(start.timestamp())
    for guest, cls in [(f"qlvb-app-0{i}", "critical") for i in (1, 2, 3)] + [(f"db-pg-0{i}", "critical") for i in (1, 2, 3)]:
        labels = f'cluster="pve-core",guest="{guest}",service_class="{cls}",backup_job="hatang-bk-{cls}",job="node",instance="mon:9100"'
        for minute in range(HOURS * 60 + 1):
            now = t0 + minute * STEP_S
            last = t0 + max(h for h in DB_BACKUPS_H if h * 60 <= minute) * 3600 if guest == "db-pg-01" else now - 600
            out.append(f"hatang_backup_last_success_timestamp_seconds{{{labels}}} {last} {now}")
    for guest in [f"qlvb-app-0{i}" for i in (1, 2, 3)] + [f"db-pg-0{i}" for i in (1, 2, 3)]:
        labels = f'cluster="pve-core",guest="{guest}",service_class="critical",backup_job="hatang-bk-critical",job="node",instance="mon:9100"'
        out += [f"hatang_backup_rpo_seconds{{{labels}}} {DB_RPO_S} {t0 + minute * STEP_S}" for minute in range(HOURS * 60 + 1)]
    return out


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, datetime]]:
    start = (datetime.now(timezone.utc) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    with backfilled_prometheus(tmp_path_factory.mktemp("prometheus"), history(load(None, "lab"), start)) as url:
        yield url, start


def sla(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*HATANG, "sla", "report", *args], capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})


def whole_period(prometheus: tuple[str, datetime], out: Path) -> dict:
    """The report of the whole backfilled period, as JSON, with its files written to ``out``."""
    url, start = prometheus
    done = sla("--from", start.isoformat(), "--to", (start + timedelta(hours=HOURS)).isoformat(), "--prometheus", url, "--json", "-o", str(out))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_report_shows_the_known_downtime(prometheus: tuple[str, datetime], tmp_path: Path) -> None:
    report = whole_period(prometheus, tmp_path)
    communes = {c["key"]: c for c in report["communes"]}
    down_min = sum(b - a for a, b in OUTAGES)
    tich_son = communes["tich-son"]
    assert tich_son["incidents"] == len(OUTAGES)
    assert abs(tich_son["downtime_min"] - down_min) <= 1  # one step at the edges of the window
    assert tich_son["availability_pct"] == pytest.approx(100 * (1 - tich_son["downtime_min"] / tich_son["observed_min"]), abs=1e-3)
    assert tich_son["error_budget_left_pct"] < 0  # 30 min down in 6 h overspends a 99.9% budget
    assert all(c["downtime_min"] == 0 and c["availability_pct"] == 100 for k, c in communes.items() if k != "tich-son")
    vinh_yen = next(d for d in report["districts"] if d["key"] == "vinh-yen")
    assert vinh_yen["downtime_min"] == tich_son["downtime_min"] and vinh_yen["devices"] == 4
    commune_wan = next(s for s in report["services"] if s["key"] == "commune_cpe")
    assert commune_wan["incidents"] == len(OUTAGES) and commune_wan["devices"] == 3
    assert report["communes"][0]["key"] == "tich-son"  # worst first
    vinh_yen_2025 = next(u for u in report["units_2025"] if u["name"] == "Phường Vĩnh Yên")  # tich-son's 2025 unit
    assert vinh_yen_2025["downtime_min"] == tich_son["downtime_min"] and vinh_yen_2025["regions"] == ["vinh-yen"]
    assert "tich-son" in [vinh_yen_2025["headquarters"], *vinh_yen_2025["service_points"]]
    assert all(u["downtime_min"] == 0 for u in report["units_2025"] if u is not vinh_yen_2025)
    rows = list(csv.DictReader((tmp_path / "availability.csv").open()))
    assert {r["level"] for r in rows} == {"district", "service", "commune", "device"}
    page = (tmp_path / "availability.html").read_text()
    assert "data:image/png;base64," in page and "Tích Sơn" in page
    assert (tmp_path / "availability.png").read_bytes().startswith(b"\x89PNG")


def test_table_output(prometheus: tuple[str, datetime]) -> None:
    url, start = prometheus
    done = sla("--from", start.isoformat(), "--to", (start + timedelta(hours=HOURS)).isoformat(), "--prometheus", url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.index("Availability per 2025 unit") < done.stdout.index("Availability per network region (former district)") and "Worst 10 communes" in done.stdout and "Tích Sơn" in done.stdout


def test_period_without_data_says_so(prometheus: tuple[str, datetime]) -> None:
    url, start = prometheus
    done = sla("--from", (start - timedelta(days=20)).isoformat(), "--to", (start - timedelta(days=19)).isoformat(), "--prometheus", url)
    assert done.returncode != 0 and "has no 'hatang:device_available' samples" in done.stderr


def test_unreachable_prometheus_is_a_clear_error() -> None:
    done = sla("--from", "2026-01-01", "--to", "2026-01-02", "--prometheus", f"http://127.0.0.1:{free_tcp_port()}")
    assert done.returncode != 0 and "cannot reach Prometheus at http://127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr


def test_reversed_period_is_refused() -> None:
    done = sla("--from", "2026-01-02", "--to", "2026-01-01")
    assert done.returncode == 2 and "must be after --from" in done.stderr


def test_rpo_compliance_per_cloud_service(prometheus: tuple[str, datetime]) -> None:
    url, start = prometheus
    done = sla("--from", start.isoformat(), "--to", (start + timedelta(hours=HOURS)).isoformat(), "--prometheus", url, "--json")
    assert done.returncode == 0, done.stderr
    rpo = {r["service"]: r for r in json.loads(done.stdout)["rpo"]}
    assert rpo["qlvb"]["compliant"] and rpo["qlvb"]["within_rpo_pct"] == 100 and rpo["qlvb"]["measured"] == 3
    within_h = len(DB_BACKUPS_H) * DB_RPO_S / 3600
    assert rpo["csdl"]["worst_guest"] == "db-pg-01" and not rpo["csdl"]["compliant"]
    assert rpo["csdl"]["within_rpo_pct"] == pytest.approx(100 * within_h / HOURS, abs=1)
    assert rpo["mail"]["measured"] == 0 and rpo["mail"]["within_rpo_pct"] is None and not rpo["mail"]["compliant"]
    table = sla("--from", start.isoformat(), "--to", (start + timedelta(hours=HOURS)).isoformat(), "--prometheus", url)
    assert "Backups within RPO per cloud service" in table.stdout and "db-pg-01" in table.stdout


def outages_of(report: dict, device: str) -> list[dict]:
    return [o for o in report["outages"] if o["device"] == device]


def test_every_outage_interval_with_its_duration_and_cause(prometheus: tuple[str, datetime], tmp_path: Path) -> None:
    start = prometheus[1]
    report = whole_period(prometheus, tmp_path)
    got = outages_of(report, "cpe-tich-son")
    assert [(datetime.fromisoformat(o["start"]), o["duration_s"]) for o in got] == [
        (start + timedelta(minutes=a), (b - a) * 60.0) for a, b in OUTAGES]
    assert got[0]["cause"] == "link" and far_end_port(load(None, "lab")) in got[0]["detail"]
    assert got[1]["cause"] == "unknown"
    assert {o["device"] for o in report["outages"]} == {"cpe-tich-son"}
    rows = list(csv.DictReader((tmp_path / "outages.csv").open()))
    assert [(r["device"], r["cause"]) for r in rows] == [("cpe-tich-son", "link"), ("cpe-tich-son", "unknown")]
    assert "Outages" in (tmp_path / "availability.html").read_text()


def test_planned_window_is_shown_and_follows_the_policy(prometheus: tuple[str, datetime], tmp_path: Path) -> None:
    url, start = prometheus
    end = start + timedelta(hours=HOURS)
    a, b = OUTAGES[1]
    windows = tmp_path / "maintenance.yaml"
    # the window covers the second outage's first 6 minutes: only they are planned
    windows.write_text(f"windows:\n  - id: CR-7\n    start: {(start + timedelta(minutes=a - 5)).isoformat()}\n"
                       f"    end: {(start + timedelta(minutes=a + 6)).isoformat()}\n    scope: [tich-son]\n    reason: media converter swap\n")
    figures = {}
    for policy in ("exclude", "include"):
        done = sla("--from", start.isoformat(), "--to", end.isoformat(), "--prometheus", url, "--json", "--maintenance", str(windows), "--planned", policy)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        pieces = outages_of(report, "cpe-tich-son")
        assert [(o["cause"], o["duration_s"], o["maintenance_window"]) for o in pieces[1:]] == [("planned change", 360.0, "CR-7"), ("unknown", 240.0, "")]
        assert report["planned_policy"] == policy and report["maintenance_windows"][0]["devices"] == ["cpe-tich-son"]
        figures[policy] = next(c for c in report["communes"] if c["key"] == "tich-son")["downtime_min"]
    assert figures["include"] - figures["exclude"] == pytest.approx(6, abs=0.1)


def test_bad_maintenance_file_names_the_key(prometheus: tuple[str, datetime], tmp_path: Path) -> None:
    url, start = prometheus
    windows = tmp_path / "maintenance.yaml"
    windows.write_text("windows:\n  - id: CR-8\n    start: 2026-01-02T00:00:00Z\n    end: 2026-01-01T00:00:00Z\n    scope: [tich-son]\n")
    done = sla("--from", start.isoformat(), "--to", (start + timedelta(hours=1)).isoformat(), "--prometheus", url, "--maintenance", str(windows))
    assert done.returncode != 0 and "windows[0]: end" in done.stderr and "Traceback" not in done.stderr
    windows.write_text("windows:\n  - {id: CR-9, start: 2026-01-01, end: 2026-01-02, scope: [nowhere]}\n")
    done = sla("--from", start.isoformat(), "--to", (start + timedelta(hours=1)).isoformat(), "--prometheus", url, "--maintenance", str(windows))
    assert done.returncode != 0 and "windows[0].scope: 'nowhere'" in done.stderr
    done = sla("--from", start.isoformat(), "--to", (start + timedelta(hours=1)).isoformat(), "--prometheus", url, "--planned", "sometimes")
    assert done.returncode == 2 and "--planned must be one of" in done.stderr
