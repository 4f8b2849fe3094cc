"""Alertmanager's configuration from the inventory, checked by amtool and run for real:
Debian's Alertmanager with the generated configuration and hatang's webhook receiver,
fed alerts through Alertmanager's own API (what Prometheus does), on loopback."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

from hatang.errors import HatangError
from hatang.inventory import load
from hatang.monitoring.alertmanager import AlertmanagerOptions, Receivers, Timing, route_of, write_alertmanager_config
from hatang.monitoring.areas import behind_names, placements
from hatang.monitoring import smtp_sink
from hatang.monitoring.receiver import Store, handler_for, pages, received


@pytest.fixture(scope="module")
def inv():
    return load(None, "lab")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def receivers(url: str = "http://127.0.0.1:9/hook") -> Receivers:
    return Receivers(webhook_url=url, email_to="noc@iic.invalid", smarthost="127.0.0.1:25",
                     telegram_chat_id=-100123, telegram_bot_token="0:test")


def test_config_passes_amtool_and_routes_by_severity_and_area(tmp_path: Path, inv) -> None:
    config = write_alertmanager_config(inv, tmp_path, AlertmanagerOptions(receivers()))
    doc = yaml.safe_load(config.read_text())
    assert doc["route"]["group_by"] == ["area"]
    assert {"webhook_configs", "telegram_configs"} <= set(next(r for r in doc["receivers"] if r["name"] == "page-vinh-yen"))
    assert "email_configs" in next(r for r in doc["receivers"] if r["name"] == "ticket")
    assert route_of(config, {"alertname": "HatangSiteUnreachable", "severity": "critical", "area": "vinh-yen"}) == ["page-vinh-yen"]
    assert route_of(config, {"alertname": "HatangSiteUnreachable", "severity": "critical", "area": "core"}) == ["page-core"]
    assert route_of(config, {"alertname": "HatangExporterDown", "severity": "critical", "area": "core"}) == ["page-core"]
    assert route_of(config, {"alertname": "HatangWanLinkDown", "severity": "critical", "area": "vinh-yen"}) == ["noc"]  # the cause, on the NOC's board
    assert route_of(config, {"alertname": "HatangAvailabilityBurnRateFast", "severity": "critical", "area": "vinh-yen"}) == ["noc"]
    assert route_of(config, {"alertname": "HatangLinkSaturation", "severity": "warning", "area": "vinh-yen"}) == ["ticket"]
    assert route_of(config, {"alertname": "Other"}) == ["noc"]
    districts = {p.area for p in placements(inv).values()} - {"core"}
    for area in districts:
        assert route_of(config, {"alertname": "HatangSiteUnreachable", "severity": "critical", "area": area}) == [f"page-{area}"]


def test_inhibitions_follow_the_topology(tmp_path: Path, inv) -> None:
    doc = yaml.safe_load(write_alertmanager_config(inv, tmp_path, AlertmanagerOptions(receivers())).read_text())
    by_source = {}
    for rule in doc["inhibit_rules"]:
        device = next((m.split('"')[1] for m in rule["source_matchers"] if m.startswith("device=")), None)
        by_source.setdefault(device, []).append(rule)
    places = placements(inv)
    routers_with_children = {name for name, p in places.items() if p.behind}
    assert set(by_source) - {None} == routers_with_children
    pattern = by_source["dr-vinh-yen"][0]["target_matchers"][0].split('"')[1]
    muted = {name for name in places if re.fullmatch(pattern, name)}  # Alertmanager anchors regex matchers too
    assert muted == set(places["dr-vinh-yen"].behind) and len(muted) > 1


def test_missing_receiver_details_are_refused() -> None:
    with pytest.raises(HatangError, match="--smtp"):
        Receivers(webhook_url="http://127.0.0.1:9/hook", email_to="noc@iic.invalid")
    with pytest.raises(HatangError, match="bot token"):
        Receivers(webhook_url="http://127.0.0.1:9/hook", telegram_chat_id=1)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """hatang's receiver in this process: (webhook URL, SMTP sink HOST:PORT), one store."""
    store = Store(tmp_path / "received.jsonl")
    servers = [ThreadingHTTPServer(("127.0.0.1", free_port()), handler_for(store)),
               smtp_sink.Server(("127.0.0.1", free_port()), smtp_sink.handler_for(store))]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{servers[0].server_address[1]}", f"127.0.0.1:{servers[1].server_address[1]}"
    for server in servers:
        server.shutdown()
        server.server_close()


def start_alertmanager(config: Path, data: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        ["prometheus-alertmanager", f"--config.file={config}", f"--storage.path={data}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).ok:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.kill()
    pytest.fail("Alertmanager did not become ready within 20 s")


def alert(name: str, device: str, role: str, area: str, **extra: str) -> dict:
    labels = {"alertname": name, "device": device, "role": role, "area": area, "severity": "critical", **extra}
    return {"labels": labels, "annotations": {"summary": f"{name} {device}", "runbook_url": "https://runbooks.invalid/x.md"},
            "startsAt": datetime.now(timezone.utc).isoformat()}  # older than group_wait would flush at once


def wait_for(check, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"{what}: not within {timeout:.0f} s")


@contextmanager
def running_alertmanager(tmp_path: Path, inv, receivers: Receivers) -> Iterator[int]:
    """Debian's Alertmanager with the small lab's generated configuration (3 s group_wait)
    sending to ``receivers``; yields its port."""
    options = AlertmanagerOptions(receivers, Timing(group_wait="3s", group_interval="1m"))
    config = write_alertmanager_config(inv, tmp_path / "am", options, {d.name for d in inv.lab_devices("small")})
    port = free_port()
    proc = start_alertmanager(config, tmp_path / "data", port)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def alertmanager(tmp_path: Path, inv, receiver: tuple[str, str]) -> Iterator[tuple[int, str]]:
    """Alertmanager sending to the receiver (webhook and email); yields (its port, the receiver's URL)."""
    url, smtp = receiver
    with running_alertmanager(tmp_path, inv, Receivers(webhook_url=f"{url}/hook", email_to="noc@iic.invalid", smarthost=smtp)) as port:
        yield port, url


def test_a_warning_is_a_ticket_by_webhook_and_email(alertmanager: tuple[int, str]) -> None:
    port, url = alertmanager
    warning = {**alert("HatangLinkSaturation", "cpe-tich-son", "commune_cpe", "vinh-yen")}
    warning["labels"]["severity"] = "warning"
    requests.post(f"http://127.0.0.1:{port}/api/v2/alerts", json=[warning], timeout=5).raise_for_status()
    kept = wait_for(lambda: {r["kind"]: r for r in received(url)} if len(received(url)) >= 2 else None, "a ticket by webhook and email")
    assert kept["webhook"]["receiver"] == "ticket" and kept["webhook"]["alerts"][0]["labels"]["alertname"] == "HatangLinkSaturation"
    assert kept["email"]["to"] == ["noc@iic.invalid"] and "HatangLinkSaturation" in kept["email"]["subject"]
    assert pages(received(url)) == []  # a warning pages nobody


def test_a_district_down_is_one_page_naming_its_communes(inv, alertmanager: tuple[int, str]) -> None:
    port, receiver = alertmanager
    small = {d.name for d in inv.lab_devices("small")}
    place = placements(inv, small)["dr-vinh-yen"]
    # what Prometheus sends when the district router loses power: its own page, every
    # commune unreachable, their SNMP gone, the core's port towards it down
    batch = [alert("HatangSiteUnreachable", "dr-vinh-yen", "district", "vinh-yen", behind=behind_names(inv, place)),
             alert("HatangDeviceDown", "dr-vinh-yen", "district", "vinh-yen"),
             alert("HatangWanLinkDown", "core-iic", "core", "vinh-yen", peer="dr-vinh-yen")]
    for commune in place.behind:
        batch += [alert("HatangSiteUnreachable", commune, "commune_cpe", "vinh-yen"), alert("HatangDeviceDown", commune, "commune_cpe", "vinh-yen")]
    # the communes' alerts first: inhibition must hold whatever the arrival order
    requests.post(f"http://127.0.0.1:{port}/api/v2/alerts", json=batch[3:], timeout=5).raise_for_status()
    requests.post(f"http://127.0.0.1:{port}/api/v2/alerts", json=batch[:3], timeout=5).raise_for_status()
    wait_for(lambda: pages(received(receiver)), "a page")
    time.sleep(4)  # anything else would have come with the same flush
    got = pages(received(receiver))
    assert len(got) == 1
    assert got[0]["receiver"] == "page-vinh-yen"
    assert [(a["labels"]["alertname"], a["labels"]["device"]) for a in got[0]["alerts"]] == [("HatangSiteUnreachable", "dr-vinh-yen")]
    assert got[0]["alerts"][0]["labels"]["behind"] == behind_names(inv, place)  # the communes by their 2025 units
    assert got[0]["alerts"][0]["annotations"]["runbook_url"]


def test_a_telegram_page_names_an_alert_of_an_earlier_incident_as_resolved(tmp_path: Path, inv, receiver: tuple[str, str]) -> None:
    """A notification carries every alert of its group: also one of an earlier incident
    that ended unpaged (a blip shorter than group_wait) and that Prometheus still re-sends
    resolved. The page lists it apart, named only: read as firing, it would send the
    on-call to a router that is fine."""
    url, _ = receiver
    telegram = Receivers(webhook_url=f"{url}/hook", telegram_chat_id=-100123, telegram_bot_token="0:test", telegram_api_url=url)
    with running_alertmanager(tmp_path, inv, telegram) as port:
        blip = alert("HatangSiteUnreachable", "dr-vinh-yen", "district", "vinh-yen")
        blip["endsAt"] = datetime.now(timezone.utc).isoformat()
        cut = alert("HatangSiteUnreachable", "cpe-tich-son", "commune_cpe", "vinh-yen")
        requests.post(f"http://127.0.0.1:{port}/api/v2/alerts", json=[blip, cut], timeout=5).raise_for_status()
        text = wait_for(lambda: next((r["text"] for r in received(url) if r["kind"] == "telegram"), None), "a Telegram page")
    webhook = pages(received(url))[0]
    assert {(a["labels"]["device"], a["status"]) for a in webhook["alerts"]} == {("dr-vinh-yen", "resolved"), ("cpe-tich-son", "firing")}
    firing, _, resolved = text.partition("resolved:\n")
    assert firing == ("[FIRING] vinh-yen: 1 firing\n- HatangSiteUnreachable cpe-tich-son\n  runbook: https://runbooks.invalid/x.md\n  next: \n")
    assert resolved.strip() == "- HatangSiteUnreachable dr-vinh-yen"


RULE = """groups:
  - name: t
    rules:
      - alert: HatangSiteUnreachable
        expr: vector(1)
        labels: {severity: critical, area: vinh-yen, device: cpe-lien-bao}
        annotations: {summary: "cpe-lien-bao is unreachable", runbook_url: "https://x.invalid/runbooks/site-unreachable.md"}
"""


def test_an_alert_fired_while_alertmanager_is_down_is_delivered_once_it_returns_and_not_twice(
        tmp_path: Path, inv, receiver: tuple[str, str]) -> None:
    """Real Prometheus (re-sending every second) and Alertmanager (its state on disk):
    the page waits for Alertmanager, and an Alertmanager restart does not page again."""
    from mon_agent import serving

    url, _ = receiver
    am_port, prom_port = free_port(), free_port()
    config = write_alertmanager_config(inv, tmp_path / "am", AlertmanagerOptions(Receivers(webhook_url=f"{url}/hook"), Timing(group_wait="1s")),
                                       {d.name for d in inv.lab_devices("small")})
    (tmp_path / "rules.yml").write_text(RULE)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"evaluation_interval": "1s"}, "rule_files": [str(tmp_path / "rules.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]}}))
    argv = ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}", "--rules.alert.resend-delay=1s"]
    with serving(argv, f"http://127.0.0.1:{prom_port}/-/ready"):
        wait_for(lambda: any(a["state"] == "firing" for a in requests.get(f"http://127.0.0.1:{prom_port}/api/v1/alerts", timeout=5).json()["data"]["alerts"]),
                 "the alert firing in Prometheus")
        time.sleep(2)
        assert pages(received(url)) == []  # nobody to deliver to yet
        proc = start_alertmanager(config, tmp_path / "data", am_port)
        try:
            got = wait_for(lambda: pages(received(url)), "the page once Alertmanager is back")
            assert [(a["labels"]["alertname"], a["labels"]["device"]) for a in got[0]["alerts"]] == [("HatangSiteUnreachable", "cpe-lien-bao")]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        proc = start_alertmanager(config, tmp_path / "data", am_port)  # its notification log survives
        try:
            time.sleep(5)
            assert len(pages(received(url))) == 1
        finally:
            proc.terminate()
            proc.wait(timeout=10)
