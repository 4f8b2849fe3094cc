"""The cause of each outage, from history in a real Prometheus (backfilled TSDB blocks):
a district router losing power (its communes: upstream), a commune router restarting,
and a flap that only ifLastChange kept (every ifOperStatus sample says up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest
from mon_agent import backfilled_prometheus

from hatang.inventory import load

HATANG = [sys.executable, "-m", "hatang.cli"]
MINUTES = 240
DISTRICT_OFF = (30, 35)
LIEN_BAO_REBOOT = (100, 103)
HOI_HOP_FLAP = (200, 201)


def port_towards(inv, device: str, peer: str) -> str:
    return next(p.name for p in inv.ports(device) if p.peer == peer)


def history(inv, start: datetime) -> str:
    names = [d.name for d in inv.lab_devices("small")]
    communes = [n for n in names if n.startswith("cpe-")]
    core = next(n for n in names if n.startswith("core-"))
    inside = lambda span, m: span[0] <= m < span[1]  # noqa: E731 - a one-line predicate
    lines: list[str] = []

    def series(metric: str, labels: str, value: Callable[[int], float | None]) -> None:
        for minute in range(MINUTES + 1):
            v = value(minute)
            if v is not None:
                lines.append(f"{metric}{{{labels}}} {v:g} {int(start.timestamp()) + minute * 60}")

    lines.append("# TYPE hatang:device_available gauge")
    for name in names:
        def available(m: int, name: str = name) -> float:
            down = (name == "dr-vinh-yen" or name in communes) and inside(DISTRICT_OFF, m)
            down |= name == "cpe-lien-bao" and inside(LIEN_BAO_REBOOT, m)
            down |= name == "cpe-hoi-hop" and inside(HOI_HOP_FLAP, m)
            return 0 if down else 1
        series("hatang:device_available", f'job="blackbox",device="{name}"', available)
    lines.append("# TYPE up gauge")
    for name in names:
        series("up", f'job="snmp",device="{name}"', lambda m, name=name: 0 if name == "dr-vinh-yen" and inside(DISTRICT_OFF, m) else 1)
    lines.append("# TYPE ifOperStatus gauge")
    # the far ends of the district's links see them drop; the district itself says nothing
    for device, peer in [(core, "dr-vinh-yen"), *((c, "dr-vinh-yen") for c in communes)]:
        series("ifOperStatus", f'job="snmp",device="{device}",ifName="{port_towards(inv, device, peer)}"',
               lambda m: 2 if inside(DISTRICT_OFF, m) else 1)
    flap_port = port_towards(inv, "dr-vinh-yen", "cpe-hoi-hop")
    series("ifOperStatus", f'job="snmp",device="dr-vinh-yen",ifName="{flap_port}"',  # every sample says up
           lambda m: None if inside(DISTRICT_OFF, m) else 1)
    lines.append("# TYPE ifLastChange gauge")
    series("ifLastChange", f'job="snmp",device="dr-vinh-yen",ifName="{flap_port}"',
           lambda m: None if inside(DISTRICT_OFF, m) else (500 if m < HOI_HOP_FLAP[1] else HOI_HOP_FLAP[1] * 6000))
    lines.append("# TYPE sysUpTime gauge")
    series("sysUpTime", 'job="snmp",device="cpe-lien-bao"', lambda m: 10**6 + m * 6000 if m < LIEN_BAO_REBOOT[1] - 1 else (m - LIEN_BAO_REBOOT[1] + 1) * 6000 + 100)
    return "\n".join(lines) + "\n# EOF\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    start = (datetime.now(timezone.utc) - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    with backfilled_prometheus(tmp_path_factory.mktemp("prometheus"), history(load(None, "lab"), start)) as url:
        done = subprocess.run([*HATANG, "sla", "report", "--from", start.isoformat(), "--to", (start + timedelta(minutes=MINUTES)).isoformat(),
                               "--prometheus", url, "--json"], capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
        assert done.returncode == 0, done.stderr
        yield json.loads(done.stdout)


def test_a_district_without_power_and_its_communes_behind_it(report: dict) -> None:
    during = [o for o in report["outages"] if o["duration_s"] == (DISTRICT_OFF[1] - DISTRICT_OFF[0]) * 60]
    causes = {o["device"]: o["cause"] for o in during}
    assert causes.pop("dr-vinh-yen") == "power"
    assert causes and set(causes.values()) == {"upstream"}
    assert all("dr-vinh-yen" in o["detail"] for o in during if o["cause"] == "upstream")


def test_a_restart_is_power(report: dict) -> None:
    lien_bao = [o for o in report["outages"] if o["device"] == "cpe-lien-bao" and o["cause"] != "upstream"]
    assert [(o["cause"], o["duration_s"]) for o in lien_bao] == [("power", (LIEN_BAO_REBOOT[1] - LIEN_BAO_REBOOT[0]) * 60.0)]
    assert "restarted" in lien_bao[0]["detail"]


def test_a_flap_between_scrapes_is_a_link_by_if_last_change(report: dict) -> None:
    hoi_hop = [o for o in report["outages"] if o["device"] == "cpe-hoi-hop" and o["cause"] != "upstream"]
    assert [o["cause"] for o in hoi_hop] == ["link"]
    assert "far end dr-vinh-yen" in hoi_hop[0]["detail"]
