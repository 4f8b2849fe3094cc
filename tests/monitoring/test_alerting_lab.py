"""Outage detection and paging in the small lab, all real: FRR routers, blackbox_exporter
probing their loopbacks from the core, Prometheus, Alertmanager with the generated
configuration and hatang's webhook receiver. Faults by ``hatang lab fault``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest
import requests
from lab_fixtures import hatang_lab
from waiting import eventually

from hatang.inventory.reorganisation import display_name
from hatang.lab import monitoring as labmon
from hatang.monitoring.areas import BEHIND_SEPARATOR
from hatang.monitoring.receiver import pages, received
from hatang.monitoring.sla import PrometheusApi, parse_duration

pytestmark = pytest.mark.lab
HATANG = [sys.executable, "-m", "hatang.cli"]
PROBE_S = 5
WAIT_S = 120  # a page: two probes, the rule's 10 s, Alertmanager's group_wait; a report: the SNMP evidence's margin
#: past one group_interval, a second page would be at the receiver
GROUP_INTERVAL_S = parse_duration(labmon.LAB_TIMING.group_interval) + 5


@pytest.fixture(scope="module")
def lab(lab_small):
    """The small lab, pushed from day-0 so every loopback is routed, all probes green."""
    proc = subprocess.run([*HATANG, "net", "push", "--all", "--yes", "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    api = PrometheusApi(labmon.PROMETHEUS_URL)

    def all_reachable() -> bool:
        now = datetime.now(timezone.utc)
        return {r["metric"]["device"] for r in api.query('hatang:device_available == 1', now)} == set(lab_small.device_names)

    eventually(all_reachable, "every loopback answering the IIC's probe", WAIT_S)
    return lab_small


#: the alerts a fault raises (the burn-rate alerts outlive it by design)
FAULT_ALERTS = ("HatangSiteUnreachable", "HatangWanLinkDown", "HatangDeviceDown", "HatangExporterDown")


def quiet() -> bool:
    """No fault alert pending or firing in Prometheus, and every page-* receiver's last
    notification a resolution: nothing from earlier faults (the push's own blips, an
    earlier test's) can still reach a receiver during the next test."""
    alerts = requests.get(f"{labmon.PROMETHEUS_URL}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    if any(a["labels"].get("alertname") in FAULT_ALERTS for a in alerts):
        return False
    last: dict[str, str] = {}
    for record in received(labmon.RECEIVER_URL):  # in the order received
        if record.get("kind") == "webhook" and str(record.get("receiver")).startswith("page-"):
            last[record["receiver"]] = record.get("status", "")
    return all(status == "resolved" for status in last.values())


@pytest.fixture(autouse=True)
def calm(request: pytest.FixtureRequest) -> None:
    """Each test starts once the lab is quiet (the module's ``lab`` first, if it uses it)."""
    if "lab" in request.fixturenames:
        request.getfixturevalue("lab")
        eventually(quiet, "earlier faults resolved and their notifications sent", WAIT_S)


def firing_in(page: dict) -> list[tuple[str, str]]:
    """(alertname, device) of a page's firing alerts; every other one is resolved."""
    assert {a["status"] for a in page["alerts"]} <= {"firing", "resolved"}, page["alerts"]
    return [(a["labels"]["alertname"], a["labels"]["device"]) for a in page["alerts"] if a["status"] == "firing"]


def pages_since(moment: float, area: str = "vinh-yen") -> list[dict]:
    return [p for p in pages(received(labmon.RECEIVER_URL), moment) if p["receiver"] == f"page-{area}"]


def resolved_since(moment: float, device: str) -> list[dict]:
    """Pages after ``moment`` in which ``device``'s alerts are resolved and none fire."""
    return [r for r in received(labmon.RECEIVER_URL) if r.get("kind") == "webhook" and r.get("status") == "resolved"
            and str(r.get("receiver")).startswith("page-") and r["received_at"] >= moment
            and any(a["labels"].get("device") == device for a in r["alerts"])]


def on_the_board(moment: float) -> set[tuple[str, str]]:
    """(alertname, device) of what reached the NOC's board (not a phone) after ``moment``."""
    board = [r for r in received(labmon.RECEIVER_URL) if r.get("receiver") == "noc" and r["received_at"] >= moment]
    return {(a["labels"]["alertname"], a["labels"]["device"]) for r in board for a in r["alerts"]}


def firing(name: str, device: str) -> bool:
    alerts = requests.get(f"{labmon.PROMETHEUS_URL}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return any(a["labels"].get("alertname") == name and a["labels"].get("device") == device and a["state"] == "firing" for a in alerts)


def sla_json(start: datetime, end: datetime) -> dict:
    done = subprocess.run([*HATANG, "sla", "report", "--from", start.isoformat(), "--to", end.isoformat(), "--json"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def settled_report(start: datetime, devices: set[str]) -> dict:
    """The report from ``start`` to now, once the outages of ``devices`` are over and their
    causes settled (the SNMP evidence after them is in)."""
    def report() -> dict | None:
        found = sla_json(start, datetime.now(timezone.utc))
        mine = [o for o in found["outages"] if o["device"] in devices]
        done = {o["device"] for o in mine} == devices and all(o["settled"] for o in mine)
        return found if done else None

    return eventually(report, f"the outages of {', '.join(sorted(devices))} settled in the report", WAIT_S)


def test_probes_reach_every_loopback_from_the_core(lab) -> None:
    api = PrometheusApi(labmon.PROMETHEUS_URL)
    results = api.query('probe_success{job="blackbox"}', datetime.now(timezone.utc))
    assert {r["metric"]["device"]: r["metric"]["instance"] for r in results} == {n: str(lab.inventory.loopback(n)) for n in lab.device_names}


def test_a_20_second_cut_is_in_the_sla_report_with_its_duration_and_cause(lab) -> None:
    before = datetime.now(timezone.utc)
    hatang_lab("fault", "link-down", "dr-vinh-yen", "cpe-tich-son")
    cut = time.time()
    time.sleep(20)
    hatang_lab("fault", "link-up", "dr-vinh-yen", "cpe-tich-son")
    true_s = time.time() - cut
    report = settled_report(before, {"cpe-tich-son"})
    got = [o for o in report["outages"] if o["device"] == "cpe-tich-son"]
    assert len(got) == 1, report["outages"]
    assert abs(got[0]["duration_s"] - true_s) <= PROBE_S + 1, (got[0], true_s)  # within one probe interval (+ the evaluation)
    assert got[0]["cause"] == "link", got[0]
    assert [o for o in report["outages"] if o["device"] != "cpe-tich-son"] == []


def test_a_fibre_cut_is_one_page_with_runbook_and_next_step_then_resolved(lab) -> None:
    since = time.time()
    hatang_lab("fault", "link-down", "dr-vinh-yen", "cpe-tich-son")
    try:
        page = eventually(lambda: pages_since(since), "a page for the cut", WAIT_S)[0]
        # the page is the lost site; the link alerts (its cause) go to the NOC's board
        # besides it, only alerts of an earlier incident Alertmanager still holds resolved
        assert firing_in(page) == [("HatangSiteUnreachable", "cpe-tich-son")], page["alerts"]
        alert = next(a for a in page["alerts"] if a["status"] == "firing")
        assert alert["annotations"]["runbook_url"].endswith("/runbooks/site-unreachable.md")
        assert "hatang runbook run HatangSiteUnreachable --target cpe-tich-son" in alert["annotations"]["description"]
        # the probes carry no commune_2025: the summary reads it from the device's SNMP target
        assert alert["annotations"]["summary"].startswith("cpe-tich-son (Phường Vĩnh Yên, tich-son) is unreachable"), alert["annotations"]
        eventually(lambda: ("HatangWanLinkDown", "dr-vinh-yen") in on_the_board(since), "the link alert on the NOC's board", WAIT_S)
        eventually(lambda: firing("HatangSiteUnreachable", "cpe-tich-son"), "HatangSiteUnreachable firing", WAIT_S)
        time.sleep(GROUP_INTERVAL_S)  # a second page would be here by now
        assert len(pages_since(since)) == 1
    finally:
        hatang_lab("fault", "link-up", "dr-vinh-yen", "cpe-tich-son")
    eventually(lambda: resolved_since(since, "cpe-tich-son"), "the page resolved", WAIT_S)


def test_a_district_powered_off_is_one_page_naming_its_communes(lab) -> None:
    since = time.time()
    communes = sorted(display_name(lab.inventory, lab.inventory.sites[lab.inventory.device(n).site]) for n in lab.device_names if n.startswith("cpe-"))
    hatang_lab("fault", "kill", "dr-vinh-yen")
    try:
        page = eventually(lambda: pages_since(since), "a page for the district", WAIT_S)[0]
        # besides it, only alerts of an earlier incident Alertmanager still holds resolved
        assert firing_in(page) == [("HatangSiteUnreachable", "dr-vinh-yen")], page["alerts"]
        alert = next(a for a in page["alerts"] if a["status"] == "firing")
        assert sorted(alert["labels"]["behind"].split(BEHIND_SEPARATOR)) == communes  # the 2025 unit first, the old name second
        assert all(name in alert["annotations"]["summary"] for name in communes)
        assert alert["annotations"]["summary"].startswith("dr-vinh-yen (vinh-yen) is unreachable")  # a region's router: no 2025 unit
        assert "hatang runbook run HatangSiteUnreachable" in alert["annotations"]["description"]
        assert alert["annotations"]["runbook_url"].endswith("/runbooks/site-unreachable.md")
        # the communes' own alerts are there, and muted by the district's
        active = requests.get(f"{labmon.ALERTMANAGER_URL}/api/v2/alerts", timeout=5).json()
        muted = {(a["labels"]["alertname"], a["labels"]["device"]) for a in active if a["status"]["inhibitedBy"]}
        assert {("HatangSiteUnreachable", n) for n in lab.device_names if n.startswith("cpe-")} <= muted
        time.sleep(GROUP_INTERVAL_S)
        assert len(pages_since(since)) == 1
    finally:
        hatang_lab("fault", "restore", "dr-vinh-yen")
    eventually(lambda: resolved_since(since, "dr-vinh-yen"), "the page resolved", WAIT_S)
    behind = {n for n in lab.device_names if n.startswith("cpe-")}
    report = settled_report(datetime.fromtimestamp(since, timezone.utc), {"dr-vinh-yen", *behind})
    causes = {o["device"]: o["cause"] for o in report["outages"]}
    assert causes.pop("dr-vinh-yen") == "power", report["outages"]
    assert causes == dict.fromkeys(behind, "upstream"), report["outages"]


def test_an_alert_fired_while_alertmanager_is_down_is_delivered_when_it_returns(lab) -> None:
    from hatang.lab.context import LabContext

    ctx = LabContext.load()
    since = time.time()
    ctx.stop(labmon.ALERTMANAGER_PROC)
    try:
        hatang_lab("fault", "link-down", "dr-vinh-yen", "cpe-lien-bao")
        eventually(lambda: firing("HatangSiteUnreachable", "cpe-lien-bao"), "HatangSiteUnreachable firing in Prometheus", WAIT_S)
        assert pages_since(since) == []
    finally:
        labmon.start_alertmanager(ctx)
    try:
        got = eventually(lambda: pages_since(since), "the page after Alertmanager's restart", timeout=90)
        # the restarted Alertmanager also gets the earlier outages' resolved alerts (Prometheus
        # re-sends them for 15 min) and lists them in the same area's page: only the firing count
        firing_alerts = [(a["labels"]["alertname"], a["labels"]["device"]) for p in got for a in p["alerts"] if a["status"] == "firing"]
        assert firing_alerts == [("HatangSiteUnreachable", "cpe-lien-bao")]
    finally:
        hatang_lab("fault", "link-up", "dr-vinh-yen", "cpe-lien-bao")
    eventually(lambda: resolved_since(since, "cpe-lien-bao"), "the page resolved", WAIT_S)


def test_restarts_of_prometheus_exporter_and_prober_page_nobody_twice(lab) -> None:
    from hatang.lab.context import LabContext

    ctx = LabContext.load()
    since = time.time()
    hatang_lab("fault", "link-down", "dr-vinh-yen", "cpe-hoi-hop")
    try:
        eventually(lambda: pages_since(since), "the page for the cut", WAIT_S)
        for proc, start in ((labmon.PROMETHEUS_PROC, labmon.start_prometheus), (labmon.EXPORTER_PROC, labmon.start_exporter),
                            (labmon.BLACKBOX_PROC, labmon.start_blackbox)):
            ctx.stop(proc)
            start(ctx)
        assert requests.post(f"{labmon.PROMETHEUS_URL}/-/reload", timeout=10).ok
        eventually(lambda: firing("HatangSiteUnreachable", "cpe-hoi-hop"), "the alert firing again after the restarts", WAIT_S)
        time.sleep(GROUP_INTERVAL_S)  # a re-sent alert that looked new would be a second page by now
        assert len(pages_since(since)) == 1
    finally:
        hatang_lab("fault", "link-up", "dr-vinh-yen", "cpe-hoi-hop")
    eventually(lambda: resolved_since(since, "cpe-hoi-hop"), "the page resolved", WAIT_S)
