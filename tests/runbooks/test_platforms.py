"""Every runbook on every production platform through napalm's mock driver: the
checks that read a router go through the state layer with answers in each platform's
recorded format (EOS JSON, Junos RPC XML, IOS and VRP text for their TextFSM
templates); the checks that do not read a router (ICMP, TCP, SNMP, HTTP from hatang's
host, the backup repository) are scripted, since production addresses are never
contacted from a test; recent pushes are read from a real audit log.

Scenarios: a fibre cut (the commune's uplink port down, no adjacency), a power-off
seen from the district side (the commune silent, the district's port down), a bad push
rolled back (the router fine, the push in the audit log)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from napalm.base.exceptions import ConnectionException
from napalm.base.mock import MockDriver

import hatang.inventory
from hatang import audit
from hatang.inventory.model import Platform
from hatang.network.checks import NEEDS as POST_CHECK_NEEDS
from hatang.network.checks import CoreProbe, run_checks
from hatang.network.state import GETTERS, READERS
from hatang.runbooks import catalog, engine
from hatang.runbooks.checks import CHECKS, NEEDS
from hatang.runbooks.context import Outcome

TARGET = "cpe-tich-son"
PLATFORMS = [p for p in READERS if p != "frr" and p in Platform.__members__]
#: The checks that read a router, through the state layer; the others are scripted.
DRIVER_CHECKS = {name for name, needs in NEEDS.items() if any(n.split("@")[0] in GETTERS for n in needs)}
OSPF_FILE = {"ios": "cli.1.show_ip_ospf_neighbor.0", "eos": "cli.1.show_ip_ospf_neighbor.0", "junos": "cli.1.show_ospf_neighbor.0",
             "huawei_vrp": "cli.1.display_ospf_peer_brief.0"}


def ospf_table(platform: str, rows: list[tuple[str, str, str, str]]) -> str:
    """(neighbor_id, address, interface, state) rows in the platform's recorded format."""
    if platform == "ios":
        lines = ["Neighbor ID     Pri   State           Dead Time   Address         Interface"]
        lines += [f"{nid:<18}0   {state.upper() + '/  -':<15} 00:00:03    {addr:<16} {ifname}" for nid, addr, ifname, state in rows]
        return "\n".join(lines) + "\n"
    if platform == "eos":
        entries = [{"routerId": nid, "interfaceAddress": addr, "interfaceName": ifname, "adjacencyState": state.lower(), "priority": 0, "drState": "P2P"} for nid, addr, ifname, state in rows]
        return json.dumps({"vrfs": {"default": {"instList": {"1": {"ospfNeighborEntries": entries}}}}})
    if platform == "junos":
        body = "".join(f"<ospf-neighbor><neighbor-address>{addr}</neighbor-address><interface-name>{ifname}.0</interface-name>"
                       f"<ospf-neighbor-state>{state}</ospf-neighbor-state><neighbor-id>{nid}</neighbor-id></ospf-neighbor>" for nid, addr, ifname, state in rows)
        return f'<rpc-reply><ospf-neighbor-information xmlns="http://xml.juniper.net/junos/23.2R0/junos-routing">{body}</ospf-neighbor-information></rpc-reply>'
    lines = ["     OSPF Process 1 with Router ID 10.26.0.2", "          Peer Statistic Information", " " + "-" * 76,
             " Area Id          Interface                        Neighbor id      State"]
    lines += [f" 0.0.0.0          {ifname:<32} {nid:<16} {state}" for nid, addr, ifname, state in rows]
    return "\n".join(lines + [" " + "-" * 76]) + "\n"


class ScenarioDriver(MockDriver):
    """napalm's mock driver; ping answers by destination (the scenario's reachable set)."""

    def __init__(self, *args, reachable: set[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.reachable = reachable

    def __getattribute__(self, name: str):
        if name == "ping":  # the mock answers getters and ping from numbered files
            return object.__getattribute__(self, "scenario_ping")
        return super().__getattribute__(name)

    def scenario_ping(self, destination, source="", ttl=255, timeout=2, size=100, count=5, vrf="", source_interface=""):
        got = count if destination in self.reachable else 0
        return {"success": {"probes_sent": count, "packet_loss": count - got, "rtt_min": 1.0, "rtt_max": 1.0, "rtt_avg": 1.0, "rtt_stddev": 0.0, "results": []}}


def arp_table(inv, device: str, target_up: bool) -> list[dict]:
    """napalm's get_arp_table of ``device``: its peers resolved, the target only when up."""
    return [{"interface": p.name, "ip": str(p.peer_address.ip), "mac": "52:54:00:00:00:01" if target_up or p.peer != TARGET else "", "age": -1.0}
            for p in inv.ports(device) if p.peer and p.peer_address]


def interface_table(inv, platform: str, device: str, target_up: bool) -> dict:
    """napalm's get_interfaces of ``device``: a port towards a silent target went down a
    minute ago (EOS gives the time of the change, the others the seconds since it)."""
    table = {}
    for p in inv.ports(device):
        cut = not target_up and p.peer == TARGET
        flapped = 60.0 if cut else -1.0
        if platform == "eos" and cut:
            flapped = time.time() - 60.0
        table[p.name] = {"is_up": not cut, "is_enabled": True, "description": "", "last_flapped": flapped, "speed": 1000.0, "mtu": 1500, "mac_address": ""}
    return table


def scenario_drivers(inv, platform: str, scenario: str, tmp_path: Path):
    """A driver factory for ``scenario``: the target silent unless the push scenario,
    its uplink's adjacency with it Full only when the target is up."""
    target_up = scenario == "bad-push-reverted"
    reachable = {str(inv.loopback(d.name)) for d in inv.routers() if target_up or d.name != TARGET}

    def factory(_inv, device: str):
        if device == TARGET and not target_up:
            raise ConnectionException(f"{device}: timed out")
        folder = tmp_path / scenario / platform / device
        folder.mkdir(parents=True, exist_ok=True)
        rows = [(str(inv.loopback(p.peer)), str(p.peer_address.ip), p.name, "Full") for p in inv.ports(device)
                if p.peer and (target_up or p.peer != TARGET)]
        (folder / OSPF_FILE[platform]).write_text(ospf_table(platform, rows))
        (folder / "get_arp_table.1").write_text(json.dumps(arp_table(inv, device, target_up)))
        (folder / "get_interfaces.1").write_text(json.dumps(interface_table(inv, platform, device, target_up)))
        driver = ScenarioDriver(str(inv.mgmt(device).ip), "u", "p", optional_args={"path": str(folder)}, reachable=reachable)
        driver.open()
        return driver

    return factory


def scripted(scenario: str):
    """The checks that do not read a router, answered as the scenario has it."""
    silent = scenario != "bad-push-reverted"

    def check_as(name: str):
        def check(ctx) -> Outcome:
            if name in ("mgmt_ping", "mgmt_ssh"):
                down = silent and ctx.device == TARGET
                return Outcome("fail" if down else "ok", f"{ctx.device} {'silent' if down else 'answers'}")
            if name in ("interfaces", "ports_enabled", "interface_errors", "interface_load", "uptime"):
                if silent and ctx.device == TARGET:
                    raise TimeoutError(f"{ctx.device}: SNMP timed out")
                facing_down = silent and ctx.subject.role == "uplink" and name == "interfaces"
                return Outcome("fail" if facing_down else "ok", f"{name} on {ctx.device}", data={"down": [{"port": p.name, "link": p.link.id if p.link else None} for p in ctx.subject.ports] if facing_down else []})
            return Outcome("ok", f"{name} scripted")

        return check

    return check_as


@pytest.fixture(scope="module")
def production():
    return hatang.inventory.load(None, "production")


def test_every_check_declares_what_it_reads() -> None:
    assert set(NEEDS) == set(CHECKS)
    from hatang.network.checks import CHECKS as POST_CHECKS

    assert set(POST_CHECK_NEEDS) == set(POST_CHECKS)
    for needs in (*NEEDS.values(), *POST_CHECK_NEEDS.values()):
        for need in needs:
            getter, _, where = need.partition("@")
            assert getter in GETTERS or " " in need, f"'{need}' is neither a state getter nor a named outside source"
            assert where in ("", "core")


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("scenario", ["fibre-cut", "power-off-from-district", "bad-push-reverted"])
@pytest.mark.parametrize("runbook", [r.alert for r in catalog.load_all()])
def test_runbook_on_every_platform(production, platform, scenario, runbook, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(production, "platform", lambda device: Platform(platform))
    monkeypatch.setenv("HATANG_STATE_DIR", str(tmp_path / "state"))
    if scenario == "bad-push-reverted":
        audit.append("push", {"environment": "production", "devices": [{"host": TARGET, "ok": False, "error": "post-checks failed, rolled back", "diff": "- ip ospf cost 10", "data": {"status": "rolled-back"}}]})
    check_as = scripted(scenario)
    for name in set(CHECKS) - DRIVER_CHECKS - {"recent_pushes"}:  # the audit log is local: read for real
        monkeypatch.setitem(CHECKS, name, check_as(name))
    book = catalog.find(runbook)
    [report] = engine.run(production, book, TARGET, factory=scenario_drivers(production, platform, scenario, tmp_path), present={d.name for d in production.routers()}, show_progress=False)
    driver_findings = [f for f in report.findings if f.check in DRIVER_CHECKS]
    for finding in driver_findings:
        silent_target = scenario != "bad-push-reverted" and finding.device == TARGET and finding.check == "ospf_neighbors"
        assert finding.status != "error" or silent_target, f"{finding.check} on {finding.device}: {finding.error}"
    by_check = {(f.check, f.role): f for f in report.findings}
    if ("ospf_neighbors", "uplink") in by_check:
        uplink = by_check[("ospf_neighbors", "uplink")]
        assert uplink.status == ("ok" if scenario == "bad-push-reverted" else "fail")
        assert TARGET in uplink.summary
    if ("loopback_from_core", "target") in by_check:
        assert by_check[("loopback_from_core", "target")].status == ("ok" if scenario == "bad-push-reverted" else "fail")
    if ("arp", "uplink") in by_check:  # the district still resolves its commune's address only when the commune is up
        assert by_check[("arp", "uplink")].status == ("ok" if scenario == "bad-push-reverted" else "fail")
    if ("port_flaps", "uplink") in by_check:
        flaps = by_check[("port_flaps", "uplink")]
        if "flaps" in READERS[platform].unsupported:
            assert flaps.status == "skip" and "SNMP ifLastChange" in flaps.summary
        else:
            assert flaps.status == ("ok" if scenario == "bad-push-reverted" else "warn"), flaps.summary
    if scenario == "bad-push-reverted" and ("recent_pushes", "target") in by_check:
        assert by_check[("recent_pushes", "target")].status == "warn"
    assert report.next_step["en"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_push_post_checks_on_every_platform(production, platform, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(production, "platform", lambda device: Platform(platform))
    factory = scenario_drivers(production, platform, "bad-push-reverted", tmp_path)
    core = CoreProbe(lambda: factory(production, "core-iic"), platform)
    outcome = run_checks(production, TARGET, factory(production, TARGET), core, timeout_s=0.2, skip=("management", "snmp"))
    assert outcome.passed == {"management": None, "ospf": True, "loopback": True, "snmp": None}, outcome.reasons
