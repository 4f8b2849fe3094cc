"""``hatang runbook run`` on the real lab (FRR, sshd, snmpd in namespaces) with real faults:
a fibre cut, a commune router powered off or frozen, a bad push reverted, a district
router down — diagnosed as production must, from the district side."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from napalm.base.exceptions import ConnectionException

from hatang.network.drivers.frr import FRRDriver

from waiting import eventually
from hatang.runbooks import access, catalog, engine

pytestmark = pytest.mark.lab

HATANG = [sys.executable, "-m", "hatang.cli"]
COMMUNE, DISTRICT = "cpe-tich-son", "dr-vinh-yen"


def hatang(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*HATANG, *args], capture_output=True, text=True, timeout=timeout)


def run_runbook(alert: str, target: str) -> tuple[int, dict]:
    """``hatang runbook run ALERT --target TARGET --json``: exit status and the report."""
    proc = hatang("runbook", "run", alert, "--target", target, "--json")
    assert proc.stdout.strip(), proc.stderr
    [report] = json.loads(proc.stdout)
    return proc.returncode, report


def finding(report: dict, check: str, role: str = "target") -> dict:
    return next(f for f in report["findings"] if f["check"] == check and f["role"] == role)


def failed_checks(report: dict) -> list[str]:
    return [f"{f['check']}@{f['device']}: {f['summary']}" for f in report["findings"] if f["status"] == "fail"]


def district_sees_full(inv, district: str, commune: str) -> bool:
    """Whether ``district`` has its OSPF adjacency with ``commune`` Full."""
    from hatang.network.connect import connected

    address = str(inv.uplink(commune).address.ip)
    with connected(inv, district) as driver:
        return any(n["is_full"] and n["address"] == address for n in driver.get_ospf_neighbors())


def ospf_full_everywhere(inv, names, timeout_s: float = 60) -> None:
    """Wait until every lab router has its Full adjacencies back (after a fault is repaired)."""
    from hatang.network.connect import connected

    wanted = {n: {p.name for p in inv.ports(n) if p.peer in names} for n in names}
    deadline = time.monotonic() + timeout_s
    pending = dict(wanted)
    while pending and time.monotonic() < deadline:
        for name in list(pending):
            try:  # in band, a router answers only once the routers on its way are back
                with connected(inv, name) as driver:
                    full = {n["interface"] for n in driver.get_ospf_neighbors() if n["is_full"]}
            except ConnectionException:
                continue
            if pending[name] <= full:
                del pending[name]
        time.sleep(0.5)
    assert not pending, f"OSPF not Full again within {timeout_s} s: {pending}"


def port_towards(inv, device: str, peer: str) -> str:
    return next(p.name for p in inv.ports(device) if p.peer == peer)


def agent_sees(inv, device: str, port: str, oper_up: bool, timeout_s: float = 20) -> None:
    """Wait until ``device``'s SNMP agent reports ``port`` up or down: snmpd caches its
    ifTable for a few seconds, and no alert fires before the agent tells either."""
    from hatang.monitoring.poller import poll_device

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = poll_device(inv, device, "if_mib")
        rows = [r for r in result.rows("ifIndex").values() if r.get("ifName") == port]
        if result.ok and rows and (rows[0]["ifOperStatus"] == 1) == oper_up:
            return
        time.sleep(0.5)
    pytest.fail(f"{device}'s agent did not report {port} {'up' if oper_up else 'down'} within {timeout_s} s")


@pytest.fixture(scope="module")
def lab(lab_small):
    """The small lab with its intended configuration pushed (the network room's push)
    and OSPF converged."""
    from hatang.network.push import push

    inv, names = lab_small.inventory, lab_small.device_names
    report = push(inv, names, wave_size=len(names), show_progress=False)
    assert report.ok, report.as_dict()
    ospf_full_everywhere(inv, names)
    return lab_small


def test_healthy_lab_every_check_passes(lab):
    code, report = run_runbook("HatangWanLinkDown", "tich-son")
    assert (code, failed_checks(report)) == (0, [])
    assert finding(report, "ospf_neighbors", "uplink")["summary"] == f"Full with {COMMUNE}"
    assert "answers from core-iic" in finding(report, "loopback_from_core")["summary"]


def test_fibre_cut_is_diagnosed_from_the_district_side(lab):
    """A cut uplink also cuts the commune's management (in band): the runbook cannot reach
    it and concludes from the district's port, not from 'both ends answer'."""
    inv = lab.inventory
    hatang("lab", "fault", "link-down", DISTRICT, COMMUNE)
    try:
        agent_sees(inv, DISTRICT, port_towards(inv, DISTRICT, COMMUNE), oper_up=False)
        code, report = run_runbook("HatangWanLinkDown", "tich-son")
    finally:
        hatang("lab", "fault", "link-up", DISTRICT, COMMUNE)
    link = f"{DISTRICT}--{COMMUNE}"
    assert code == 1
    assert finding(report, "mgmt_ping")["status"] == "fail", "in band: the commune is cut off with its link"
    assert finding(report, "interfaces")["status"] == "error"  # its agent cannot be asked
    district_port = port_towards(inv, DISTRICT, COMMUNE)
    uplink_ports = finding(report, "interfaces", "uplink")
    assert uplink_ports["status"] == "fail" and f"{district_port} towards {COMMUNE} (link {link})" in uplink_ports["summary"]
    assert finding(report, "ports_enabled", "uplink")["status"] == "ok", "a cut is not a shutdown"
    assert finding(report, "arp", "uplink")["status"] == "fail"
    flaps = finding(report, "port_flaps", "uplink")
    assert flaps["status"] == "warn" and f"{district_port} towards {COMMUNE}" in flaps["summary"]
    assert "seen from the region's router" in report["next_step"]["en"] and f"report link {link} down" in report["next_step"]["en"]
    assert "nhìn từ bộ định tuyến vùng" in report["next_step"]["vi"]
    ospf_full_everywhere(inv, lab.device_names)


def test_frozen_commune_is_hung_seen_from_the_district(lab):
    victim = "cpe-hoi-hop"
    hatang("lab", "fault", "freeze", victim)
    try:
        district = lab.inventory.uplink(victim).peer
        eventually(lambda: not district_sees_full(lab.inventory, district, victim), f"{district} drops {victim} after the dead interval (6 s)", timeout=30, interval=0.5)
        code, report = run_runbook("HatangDeviceDown", "hoi-hop")
    finally:
        hatang("lab", "fault", "restore", victim)
    assert code == 1
    assert finding(report, "mgmt_ssh")["status"] == "fail"
    assert finding(report, "interfaces", "uplink")["status"] == "ok"
    assert finding(report, "arp", "uplink")["status"] == "ok"  # its kernel still answers
    assert finding(report, "ospf_neighbors", "uplink")["status"] == "fail"
    assert "the router is hung" in report["next_step"]["en"], report["next_step"]
    ospf_full_everywhere(lab.inventory, lab.device_names)


def test_district_down_puts_the_root_cause_upstream_in_the_communes_runbooks(lab):
    hatang("lab", "fault", "kill", DISTRICT)
    try:
        reports = {alert: run_runbook(alert, "tich-son")[1] for alert in ("HatangDeviceDown", "HatangWanLinkDown")}
    finally:
        hatang("lab", "fault", "restore", DISTRICT)
    for alert, report in reports.items():
        assert finding(report, "mgmt_ping")["status"] == "fail" and finding(report, "mgmt_ping", "uplink")["status"] == "fail", alert
        assert "upstream" in report["next_step"]["en"] and DISTRICT in report["next_step"]["en"], (alert, report["next_step"])
    assert "root cause is upstream" in reports["HatangDeviceDown"]["next_step"]["en"]
    ospf_full_everywhere(lab.inventory, lab.device_names)


def test_killed_router_is_unreachable_and_its_uplink_alive(lab):
    victim = "cpe-lien-bao"
    hatang("lab", "fault", "kill", victim)
    try:
        agent_sees(lab.inventory, DISTRICT, port_towards(lab.inventory, DISTRICT, victim), oper_up=False)
        code, report = run_runbook("HatangDeviceDown", "lien-bao")
    finally:
        hatang("lab", "fault", "restore", victim)
    assert code == 1
    assert finding(report, "mgmt_ping")["status"] == "fail"
    assert finding(report, "mgmt_ssh")["status"] == "fail"
    assert finding(report, "mgmt_ping", "uplink")["status"] == "ok"
    assert finding(report, "mgmt_ping", "uplink")["device"] == DISTRICT
    uplink_port = finding(report, "interfaces", "uplink")
    assert uplink_port["status"] == "fail" and f"towards {victim}" in uplink_port["summary"]
    assert f"{victim} does not answer, but its uplink neighbour {DISTRICT} is alive" in report["next_step"]["en"]
    assert "power loss at Phường Vĩnh Phúc, Liên Bảo cũ or a fibre cut" in report["next_step"]["en"]  # the 2025 unit first
    ospf_full_everywhere(lab.inventory, lab.device_names)


def test_a_rolled_back_push_shows_in_recent_changes(lab):
    from hatang.network.push import push
    from hatang.network.render import Renderer

    inv, victim = lab.inventory, "cpe-hoi-hop"
    uplink = inv.uplink(victim).name
    bad = Renderer(inv).render(victim).text.replace(f"interface {uplink}\n", f"interface {uplink}\n shutdown\n", 1)
    assert "shutdown" in bad
    report = push(inv, [victim], configs={victim: bad}, check_timeout_s=5, revert_in=8, step_timeout_s=8, show_progress=False)
    # in band, the change cut its own management: the router's timer reverted it, hatang verified
    assert report.status(victim) == "reverted", report.as_dict()
    agent_sees(inv, victim, uplink, oper_up=True)
    ospf_full_everywhere(inv, lab.device_names)  # the rollback restored the link; OSPF needs a few hellos more

    code, rb = run_runbook("HatangWanLinkDown", inv.find_site("hoi-hop").code)  # a GSO code works as --target
    assert rb["target"] == victim
    changes = finding(rb, "recent_pushes")
    assert changes["status"] == "warn"
    assert "reverted" in changes["summary"]
    reverts = finding(rb, "recent_reverts")
    assert reverts["status"] == "warn" and "reverted" in reverts["summary"]
    assert any(line.startswith("latest diff: +") and "shutdown" in line for line in changes["details"]), changes["details"]
    assert finding(rb, "interfaces")["status"] == "ok", "the rollback brought the uplink back"
    assert (code, failed_checks(rb)) == (0, [])


class Spy:
    """Wraps a real driver and records every method the diagnostics reach on it."""

    def __init__(self, driver, calls: list[str]):
        self._driver, self._calls = driver, calls

    def __getattr__(self, name):
        self._calls.append(name)
        return getattr(self._driver, name)


CHANGING = {name for name in dir(FRRDriver) if not name.startswith("_") and callable(getattr(FRRDriver, name)) and not access.is_read_only(name)}


def test_diagnostics_never_call_a_config_changing_method(lab):
    calls: list[str] = []
    spying = lambda inv, device: Spy(access.napalm_driver(inv, device), calls)  # noqa: E731
    for alert in ("HatangDeviceDown", "HatangWanLinkDown", "HatangDeviceRebooted"):
        engine.run(lab.inventory, catalog.find(alert), "tich-son", factory=spying, show_progress=False)
    assert {"get_ospf_neighbors", "ping", "close"} <= set(calls)
    assert "commit_config" in CHANGING and "load_replace_candidate" in CHANGING and "cli" in CHANGING
    assert set(calls) & CHANGING == set()


def test_every_runbook_passes_on_the_healthy_lab(lab):
    from concurrent.futures import ThreadPoolExecutor

    def run(runbook):
        [report] = engine.run(lab.inventory, runbook, "tich-son", show_progress=False)
        return report

    with ThreadPoolExecutor(max_workers=4) as pool:  # the sampling checks wait 5 s each: overlap them
        reports = list(pool.map(run, catalog.load_all()))
    for report in reports:
        broken = [f"{f.check}@{f.device}: {f.error or f.summary}" for f in report.findings if f.status == "fail"]
        assert broken == [], f"{report.alert} on a healthy lab"
        assert report.next_step["en"] and report.next_step["vi"], report.alert
    assert {r.alert for r in reports} == {r.alert for r in catalog.load_all()}


def test_exporter_down_tells_a_dead_exporter_from_a_dead_device(lab, monkeypatch):
    import socket

    with socket.socket() as probe:  # a port nothing listens on: a stopped exporter
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    monkeypatch.setenv("HATANG_EXPORTER_URL", f"http://127.0.0.1:{dead}")
    [report] = engine.run(lab.inventory, catalog.find("HatangExporterDown"), "core-iic", show_progress=False)
    statuses = {f.check: f.status for f in report.findings}
    assert statuses == {"exporter": "fail", "mgmt_ping": "ok", "uptime": "ok"}
    assert "exporter service is stopped or hung" in report.next_step["en"]
    monkeypatch.delenv("HATANG_EXPORTER_URL")
    [report] = engine.run(lab.inventory, catalog.find("HatangExporterDown"), "core-iic", show_progress=False)
    exporter = next(f for f in report.findings if f.check == "exporter")
    assert exporter.status == "ok" and "scrapes core-iic" in exporter.summary, "the lab runs hatang's exporter on 127.0.0.1:9116"
