"""``hatang sla report`` against a real Prometheus holding known history.

The history is backfilled with ``promtool tsdb create-blocks-from openmetrics`` (real
TSDB blocks, the way operators import old data), so the expected figures follow from
the input: cpe-tich-son loses two outages of 20 and 10 minutes in a 6-hour period.
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
from mon_agent import free_tcp_port, serving

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
    return "\n".join(lines) + "\n# EOF\n"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, datetime]]:
    base = tmp_path_factory.mktemp("prometheus")
    inv = load(None, "lab")
    start = (datetime.now(timezone.utc) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    (base / "history.om").write_text(history(inv, start))
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(base / "history.om"), str(base / "data")], check=True, capture_output=True)
    (base / "prometheus.yml").write_text("global:\n  evaluation_interval: 1m\n")
    url = f"http://127.0.0.1:{free_tcp_port()}"
    argv = ["prometheus", f"--config.file={base / 'prometheus.yml'}", f"--storage.tsdb.path={base / 'data'}",
            f"--web.listen-address={url.removeprefix('http://')}", "--storage.tsdb.retention.time=30d"]
    with serving(argv, f"{url}/-/ready"):
        yield url, start


def sla(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*HATANG, "sla", "report", *args], capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})


def test_report_shows_the_known_downtime(prometheus: tuple[str, datetime], tmp_path: Path) -> None:
    url, start = prometheus
    end = start + timedelta(hours=HOURS)
    done = sla("--from", start.isoformat(), "--to", end.isoformat(), "--prometheus", url, "--json", "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
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
    assert "Availability per 2025 unit" in done.stdout and "Availability per district" in done.stdout and "Worst 10 communes" in done.stdout and "Tích Sơn" in done.stdout


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
