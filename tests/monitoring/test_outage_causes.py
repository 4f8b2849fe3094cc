"""The cause of each outage, from history in a real Prometheus (backfilled TSDB blocks),
with the districts and communes managed in band as in the province (silent over SNMP
whenever their path to the IIC is down): a district router losing power (its communes:
upstream), a district's uplink cut (also silent, but its communes' links stayed up), a
commune's only link cut (silent, like a power loss seen from the far end), a commune
router restarting, and a flap that only ifLastChange kept (every ifOperStatus sample
says up)."""

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
TICH_SON_CUT = (60, 62)
LIEN_BAO_REBOOT = (100, 103)
DISTRICT_UPLINK_CUT = (150, 153)
HOI_HOP_FLAP = (200, 201)
BOOT_TICKS = 500  # every port's ifLastChange before the events: set as the agents started


def port_towards(inv, device: str, peer: str) -> str:
    return next(p.name for p in inv.ports(device) if p.peer == peer)


def inside(span: tuple[int, int], minute: int) -> bool:
    return span[0] <= minute < span[1]


def last_change(minute: int, spans: list[tuple[int, int]]) -> int:
    """ifLastChange (ticks of a 1-minute-per-6000 clock) of a port whose link went down and
    came back in each of ``spans``: the time it came back, after the last one ended."""
    ended = [end for _, end in spans if end <= minute]
    return max(ended) * 6000 if ended else BOOT_TICKS


def history(inv, start: datetime) -> str:
    names = [d.name for d in inv.lab_devices("small")]
    communes = [n for n in names if n.startswith("cpe-")]
    core = next(n for n in names if n.startswith("core-"))
    district_silent = (DISTRICT_OFF, DISTRICT_UPLINK_CUT)  # in band: the district and its communes
    lines: list[str] = []

    def series(metric: str, labels: str, value: Callable[[int], float | None]) -> None:
        for minute in range(MINUTES + 1):
            v = value(minute)
            if v is not None:
                lines.append(f"{metric}{{{labels}}} {v:g} {int(start.timestamp()) + minute * 60}")

    def silent(name: str, minute: int) -> bool:
        """Unreachable over SNMP: managed in band behind a path that is down."""
        if name == "dr-vinh-yen" or name in communes:
            if any(inside(span, minute) for span in district_silent):
                return True
        return (name == "cpe-tich-son" and inside(TICH_SON_CUT, minute)) or (name == "cpe-hoi-hop" and inside(HOI_HOP_FLAP, minute))

    def down(name: str, minute: int) -> bool:
        return silent(name, minute) or (name == "cpe-lien-bao" and inside(LIEN_BAO_REBOOT, minute))

    lines.append("# TYPE hatang:device_available gauge")
    for name in names:
        series("hatang:device_available", f'job="blackbox",device="{name}"', lambda m, name=name: 0 if down(name, m) else 1)
    lines.append("# TYPE up gauge")
    for name in names:
        series("up", f'job="snmp",device="{name}"', lambda m, name=name: 0 if silent(name, m) or (name == "cpe-lien-bao" and inside(LIEN_BAO_REBOOT, m)) else 1)

    # (device, peer): the spans in which the link between them was down, seen from device
    dropped = {(core, "dr-vinh-yen"): [DISTRICT_OFF, DISTRICT_UPLINK_CUT], ("dr-vinh-yen", core): [DISTRICT_OFF, DISTRICT_UPLINK_CUT],
               **{(c, "dr-vinh-yen"): [DISTRICT_OFF] for c in communes}, **{("dr-vinh-yen", c): [DISTRICT_OFF] for c in communes}}
    dropped[("cpe-tich-son", "dr-vinh-yen")] += [TICH_SON_CUT]
    dropped[("dr-vinh-yen", "cpe-tich-son")] += [TICH_SON_CUT]
    lines.append("# TYPE ifOperStatus gauge")
    for (device, peer), spans in dropped.items():
        # a silent device has no samples; the hoi-hop flap fell between two scrapes
        series("ifOperStatus", f'job="snmp",device="{device}",ifName="{port_towards(inv, device, peer)}"',
               lambda m, device=device, spans=spans: None if silent(device, m) else (2 if any(inside(s, m) for s in spans) else 1))
    lines.append("# TYPE ifLastChange gauge")
    for (device, peer), spans in dropped.items():
        flap = [HOI_HOP_FLAP] if (device, peer) == ("dr-vinh-yen", "cpe-hoi-hop") else []
        series("ifLastChange", f'job="snmp",device="{device}",ifName="{port_towards(inv, device, peer)}"',
               lambda m, device=device, spans=spans + flap: None if silent(device, m) else last_change(m, spans))
    lines.append("# TYPE sysUpTime gauge")
    series("sysUpTime", 'job="snmp",device="cpe-lien-bao"', lambda m: 10**6 + m * 6000 if m < LIEN_BAO_REBOOT[1] - 1 else (m - LIEN_BAO_REBOOT[1] + 1) * 6000 + 100)
    return "\n".join(lines) + "\n# EOF\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The report over the whole history; each outage also with its start ``minute``."""
    start = (datetime.now(timezone.utc) - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    with backfilled_prometheus(tmp_path_factory.mktemp("prometheus"), history(load(None, "lab"), start)) as url:
        done = subprocess.run([*HATANG, "sla", "report", "--from", start.isoformat(), "--to", (start + timedelta(minutes=MINUTES)).isoformat(),
                               "--prometheus", url, "--json"], capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
        assert done.returncode == 0, done.stderr
        found = json.loads(done.stdout)
        for outage in found["outages"]:
            outage["minute"] = (datetime.fromisoformat(outage["start"]) - start).total_seconds() / 60
        yield found


def causes_in(report: dict, span: tuple[int, int]) -> dict[str, str]:
    """device → cause of the outages of ``span`` (each lasting all of it)."""
    during = [o for o in report["outages"] if o["minute"] == span[0]]
    assert all(o["duration_s"] == (span[1] - span[0]) * 60 for o in during), during
    return {o["device"]: o["cause"] for o in during}


def detail(report: dict, device: str, span: tuple[int, int]) -> str:
    return next(o["detail"] for o in report["outages"] if o["device"] == device and o["minute"] == span[0])


def test_a_district_without_power_and_its_communes_behind_it(report: dict) -> None:
    causes = causes_in(report, DISTRICT_OFF)
    assert causes.pop("dr-vinh-yen") == "power", detail(report, "dr-vinh-yen", DISTRICT_OFF)
    assert sorted(causes) == ["cpe-hoi-hop", "cpe-lien-bao", "cpe-tich-son"]
    assert set(causes.values()) == {"upstream"}
    assert all("dr-vinh-yen" in detail(report, device, DISTRICT_OFF) for device in causes)


def test_a_district_uplink_cut_is_a_link_though_the_district_is_silent_too(report: dict) -> None:
    causes = causes_in(report, DISTRICT_UPLINK_CUT)
    assert causes.pop("dr-vinh-yen") == "link"
    assert "far end core-iic" in detail(report, "dr-vinh-yen", DISTRICT_UPLINK_CUT)
    assert set(causes.values()) == {"upstream"} and len(causes) == 3


def test_a_communes_only_link_cut_is_a_link_not_power(report: dict) -> None:
    assert causes_in(report, TICH_SON_CUT) == {"cpe-tich-son": "link"}
    assert "far end dr-vinh-yen" in detail(report, "cpe-tich-son", TICH_SON_CUT)


def test_a_restart_is_power(report: dict) -> None:
    assert causes_in(report, LIEN_BAO_REBOOT) == {"cpe-lien-bao": "power"}
    assert "restarted" in detail(report, "cpe-lien-bao", LIEN_BAO_REBOOT)


def test_a_flap_between_scrapes_is_a_link_by_if_last_change(report: dict) -> None:
    assert causes_in(report, HOI_HOP_FLAP) == {"cpe-hoi-hop": "link"}
    assert "far end dr-vinh-yen" in detail(report, "cpe-hoi-hop", HOI_HOP_FLAP)


def test_outages_long_past_are_settled(report: dict) -> None:
    assert report["outages"] and all(o["settled"] for o in report["outages"])
