"""Monitoring in the small lab: real routers (FRR + snmpd in namespaces), hatang's
exporter and Debian's Prometheus as ``hatang lab up`` starts them, faults by
``hatang lab fault``. The lab (and its lock) is the session's shared ``lab_small``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from lab_fixtures import hatang_lab
from mon_agent import snmpbulkwalk
from waiting import eventually

from hatang.credentials import secret
from hatang.lab.monitoring import PROMETHEUS_URL
from hatang.monitoring import modules as mods
from hatang.monitoring.poller import poll, poll_device
from hatang.monitoring.sla import PrometheusApi
from hatang.monitoring.snmp import SnmpAuth
from hatang.monitoring.targets import inventory_targets

pytestmark = pytest.mark.lab
SCRAPE_S = 5


@pytest.fixture(scope="module")
def api(lab_small) -> PrometheusApi:
    return PrometheusApi(PROMETHEUS_URL)


def v3_cli() -> list[str]:
    return ["-v3", "-l", "authPriv", "-u", secret("snmp-v3", "username", env="lab"), "-a", "SHA", "-A", secret("snmp-v3", "auth_key", env="lab"),
            "-x", "AES", "-X", secret("snmp-v3", "priv_key", env="lab")]


def test_metrics_arrive_in_prometheus(lab_small, api: PrometheusApi) -> None:
    devices = set(lab_small.device_names)

    def all_up() -> bool:
        now = datetime.now(timezone.utc)
        up = {r["metric"]["device"] for r in api.query('up{job="snmp"} == 1', now)}
        operstatus = {r["metric"]["device"] for r in api.query('ifOperStatus{job="snmp"}', now)}
        return up == devices and operstatus == devices

    eventually(all_up, "every lab router scraped through hatang's exporter")
    # in band: the uplink (eth0) carries management; there is no mgmt0
    sample = api.query('ifHCInOctets{job="snmp", device="cpe-tich-son", ifName="eth0"}', datetime.now(timezone.utc))
    assert sample and set(sample[0]["metric"]) >= {"ifIndex", "ifName", "ifDescr", "site", "district", "role", "gso_code"}
    eventually(lambda: api.query("hatang:device_available == 1", datetime.now(timezone.utc)), "the availability rule evaluated")


def test_poller_equals_snmpbulkwalk_on_a_router(lab_small) -> None:
    inv = lab_small.inventory
    result = poll_device(inv, "cpe-tich-son", "if_mib")
    assert result.ok, result.error
    address = str(inv.mgmt("cpe-tich-son").ip)
    module = mods.load("if_mib")
    table = module.tables[0]
    for column in [c for c in table.columns if c.type == "gauge"]:
        walked = snmpbulkwalk(address, v3_cli(), column.oid)
        got = {f"{column.oid}.{s.labels['ifIndex']}": str(int(s.value)) for s in result.samples if s.name == column.name}
        assert got == walked, column.name
    names = snmpbulkwalk(address, v3_cli(), table.lookups[0].oid)
    assert sorted(names.values()) == sorted(r["ifName"] for r in result.rows("ifIndex").values())
    uplink = inv.uplink("cpe-tich-son").name
    assert any(r["ifName"] == uplink and r["ifOperStatus"] == 1 for r in result.rows("ifIndex").values())


def test_v3_wrong_key_fails_clearly(lab_small) -> None:
    inv = lab_small.inventory
    wrong = SnmpAuth("v3", username=secret("snmp-v3", "username", env="lab"), auth_key="wrong-auth-key-123", priv_key=secret("snmp-v3", "priv_key", env="lab"))
    targets = [t.__class__(t.name, t.address, wrong) for t in inventory_targets(inv, devices=["cpe-tich-son"])]
    result = asyncio.run(poll(targets, "system", timeout=1, retries=0))[0]
    assert not result.ok and "SNMPv3 authentication failed" in result.error and "cpe-tich-son" in result.error


def test_link_down_fires_and_link_up_resolves_wan_alert(lab_small, api: PrometheusApi) -> None:
    a, b = "dr-vinh-yen", "cpe-tich-son"
    eventually(lambda: api.query(f'ifOperStatus{{device="{b}"}}', datetime.now(timezone.utc)), "the CPE is scraped")

    def firing() -> list[dict]:
        return [x for x in api.alerts() if x["labels"]["alertname"] == "HatangWanLinkDown" and x["state"] == "firing" and x["labels"]["link"] == f"{a}--{b}"]

    # healthy before the cut: an earlier test may have just repaired this very link, and
    # Prometheus resolves the alert only at its next scrape after snmpd's cache expires
    eventually(lambda: not firing(), "no HatangWanLinkDown on the healthy link", timeout=6 * SCRAPE_S + 10)
    cut = time.monotonic()
    hatang_lab("fault", "link-down", a, b)
    try:
        alerts = eventually(firing, "HatangWanLinkDown firing after link-down", timeout=4 * SCRAPE_S + 10)
        print(f"HatangWanLinkDown firing {time.monotonic() - cut:.1f}s after the cut (scrape interval {SCRAPE_S}s)")
        assert {x["labels"]["device"] for x in alerts} <= {a, b}
        for alert in alerts:
            assert alert["annotations"]["runbook_url"].endswith("/runbooks/wan-link-down.md")
            assert {"device", "site", "district", "role", "severity"} <= set(alert["labels"])
    finally:
        hatang_lab("fault", "link-up", a, b)
    eventually(lambda: not firing(), "HatangWanLinkDown resolved after link-up", timeout=6 * SCRAPE_S + 10)


def test_killed_router_times_out_alone_and_shows_as_downtime(lab_small, api: PrometheusApi) -> None:
    victim = "cpe-lien-bao"
    inv = lab_small.inventory
    eventually(lambda: api.query(f'hatang:device_available{{device="{victim}"}} == 1', datetime.now(timezone.utc)), "the victim is available before the fault")
    started = datetime.now(timezone.utc)
    hatang_lab("fault", "kill", victim)
    try:
        results = asyncio.run(poll(inventory_targets(inv, devices=lab_small.device_names), "system", timeout=0.5, retries=1))
        failed = {r.target: r.error for r in results if not r.ok}
        assert list(failed) == [victim] and "no SNMP response" in failed[victim]
        eventually(lambda: api.query(f'up{{job="snmp", device="{victim}"}} == 0', datetime.now(timezone.utc)), "Prometheus sees the killed router down")
        time.sleep(3 * SCRAPE_S)  # a few scrape intervals of downtime
    finally:
        hatang_lab("fault", "restore", victim)
    eventually(lambda: api.query(f'hatang:device_available{{device="{victim}"}} == 1', datetime.now(timezone.utc)), "the victim is available again")
    end = datetime.now(timezone.utc) + timedelta(seconds=1)
    done = subprocess.run(
        [sys.executable, "-m", "hatang.cli", "sla", "report", "--from", (started - timedelta(minutes=1)).isoformat(), "--to", end.isoformat(), "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    communes = {c["key"]: c for c in json.loads(done.stdout)["communes"]}
    lien_bao = communes[inv.device(victim).site]
    assert lien_bao["incidents"] >= 1
    assert 3 * SCRAPE_S / 60 <= lien_bao["downtime_min"] <= 3  # at least the frozen intervals, not the whole period
    assert lien_bao["availability_pct"] < 100
    assert communes["tich-son"]["downtime_min"] < lien_bao["downtime_min"]


def test_poll_command_on_a_district(lab_small) -> None:
    done = subprocess.run([sys.executable, "-m", "hatang.cli", "monitor", "poll", "--site", "vinh-yen", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    in_lab = {n for n in lab_small.device_names if n != "core-iic"}
    assert {r["target"] for r in report["results"] if r["ok"]} == in_lab
    assert all(any(s["name"] == "ifOperStatus" for s in r["samples"]) for r in report["results"] if r["ok"])
