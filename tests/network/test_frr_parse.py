"""The FRR driver's parsers, on outputs recorded from FRR 8.4 (Debian 12)."""

from __future__ import annotations

import json
from pathlib import Path

from hatang.network.drivers import frr_parse

FRR = Path(__file__).parent / "fixtures" / "frr"


def read(name: str) -> str:
    return (FRR / name).read_text()


def test_reload_deltas_read_as_a_diff() -> None:
    diff = frr_parse.deltas_as_diff(frr_parse.reload_deltas(read("reload-test-day0.txt")))
    assert diff.splitlines() == [
        "-hostname vm",
        "-no ip forwarding",
        "+hostname cpe-test",
        "+log syslog informational",
        "+interface nta0",
        "+ description uplink to dr-x eth2",
        "+ ip address 198.18.4.3/31",
        "+interface lo",
        "+ ip address 198.18.0.3/32",
        "+router ospf",
        "+ ospf router-id 198.18.0.3",
    ]


def test_a_changed_line_shows_what_goes_and_what_comes() -> None:
    diff = frr_parse.deltas_as_diff(frr_parse.reload_deltas(read("reload-test-drift.txt")))
    assert diff == " interface eth1\n- description changed by hand at 3 am\n+ description LAN Hoi Hop 198.18.64.192/26"


def test_a_route_frr_reload_deletes_by_adding_its_no_line_reads_as_deleted() -> None:
    output = "\nLines To Add\n============\nno ip route 198.18.96.0/24 Null0\nip route 198.18.97.0/24 Null0\nno ipv6 forwarding\n"
    assert frr_parse.deltas_as_diff(frr_parse.reload_deltas(output)).splitlines() == [
        "-ip route 198.18.96.0/24 Null0", "+ip route 198.18.97.0/24 Null0", "+no ipv6 forwarding"]


def test_no_deltas_is_an_empty_diff() -> None:
    assert frr_parse.deltas_as_diff(frr_parse.reload_deltas("")) == ""


def test_ospf_neighbors() -> None:
    neighbors = frr_parse.ospf_neighbors(json.loads(read("ospf-neighbor.json")))
    assert [(n["neighbor_id"], n["interface"], n["state"], n["is_full"]) for n in neighbors] == [
        ("198.18.0.2", "eth0", "Full", True),
        ("198.18.0.9", "eth8", "ExStart", False),
    ]


def test_interfaces_and_addresses() -> None:
    data = json.loads(read("show-interface.json"))
    interfaces = frr_parse.interfaces(data)
    assert interfaces["eth0"]["is_up"] and interfaces["eth0"]["mac_address"] == "6E:60:21:A0:A3:80"
    assert not interfaces["eth1"]["is_enabled"] and interfaces["eth1"]["speed"] == 0.0
    assert frr_parse.interfaces_ip(data)["eth0"]["ipv4"] == {"198.18.4.3": {"prefix_length": 31}}


def test_ping() -> None:
    result = frr_parse.ping(read("ping.txt"))["success"]
    assert result["probes_sent"] == 2 and result["packet_loss"] == 0
    assert result["rtt_avg"] == 0.073 and [r["ip_address"] for r in result["results"]] == ["198.18.64.65"] * 2
    assert "error" in frr_parse.ping("ping: connect: Network is unreachable")


def test_arp_table_keeps_unresolved_entries_without_a_mac() -> None:
    text = json.dumps([
        {"dst": "198.18.4.3", "dev": "eth2", "lladdr": "aa:bb:cc:00:00:01", "state": ["REACHABLE"]},
        {"dst": "198.18.4.5", "dev": "eth3", "state": ["FAILED"]},
        {"dst": "198.18.4.7", "dev": "eth4", "lladdr": "aa:bb:cc:00:00:02", "state": ["INCOMPLETE"]},
    ])
    table = frr_parse.arp_table(text)
    assert [(e["interface"], e["ip"], e["mac"]) for e in table] == [
        ("eth2", "198.18.4.3", "AA:BB:CC:00:00:01"), ("eth3", "198.18.4.5", ""), ("eth4", "198.18.4.7", "")]
    assert len(frr_parse.arp_table(json.dumps([{"dst": "x", "dev": "y"}] * 5000))) == frr_parse.MAX_ARP_ENTRIES


def test_last_flapped_is_the_latest_link_change() -> None:
    from datetime import datetime

    now = datetime(2026, 12, 5, 8, 0, 0)
    data = {"eth0": {"lastLinkUp": "2026/12/05 07:59:00.250", "lastLinkDown": "2026/12/05 07:58:00.000"}, "eth1": {}, "eth2": {"lastLinkUp": "garbage"}}
    result = frr_parse.interfaces(data, now)
    assert result["eth0"]["last_flapped"] == 59.8
    assert result["eth1"]["last_flapped"] == -1.0 and result["eth2"]["last_flapped"] == -1.0
