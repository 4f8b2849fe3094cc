"""The state layer on every platform, over recorded answers of real devices
(fixtures/state/SOURCES.md says where each came from): napalm's mock driver for
IOS, EOS and Junos, napalm-huawei-vrp's real driver replaying VRP's CLI, hatang's FRR
parser on the lab's recordings."""

from __future__ import annotations

import json
from pathlib import Path

import napalm
import pytest
from napalm_huawei_vrp.huawei_vrp import VRPDriver

from hatang.errors import HatangError
from hatang.network.drivers import frr_parse
from hatang.network.state import GETTERS, READERS, StateReader, Unsupported, read_only_command, state_reader
from hatang.network.state.parse import MAX_OUTPUT_CHARS, ParseError
from hatang.network.state.readers import version_matches

FIXTURES = Path(__file__).parent / "fixtures"
STATE = FIXTURES / "state"
NAPALM_PLATFORMS = ("ios", "eos", "junos")


def mock(platform: str):
    driver = napalm.get_network_driver("mock")("198.18.0.1", "u", "p", optional_args={"path": str(STATE / platform)})
    driver.open()
    return driver


class VrpSession:
    """A netmiko connection that answers VRP commands from recordings."""

    ANSWERS = {
        "display ospf peer brief": "display_ospf_peer_brief.txt",
        "display interface brief": "display_interface_brief.txt",
        "display ip routing-table 0.0.0.0 verbose": "display_ip_routing-table_verbose.txt",
        "ping -t 1000 -s 100 -c 1 -a 10.26.0.2 10.26.0.1": "ping.txt",
        "display version": "display_version.txt",
    }

    def __init__(self):
        self.sent: list[str] = []

    def send_command(self, command: str, **_: object) -> str:
        self.sent.append(command)
        if command == "display current-configuration":
            return "sysname cpe-test\n#\nreturn\n"
        return (STATE / "huawei_vrp" / self.ANSWERS[command]).read_text()


def vrp() -> VRPDriver:
    driver = VRPDriver("198.18.0.1", "u", "p")
    driver.device = VrpSession()
    return driver


class FrrRecorded:
    """The FRR driver's getters on the lab's recordings."""

    def get_ospf_neighbors(self):
        return frr_parse.ospf_neighbors(json.loads((FIXTURES / "frr/ospf-neighbor.json").read_text()))

    def get_interfaces(self):
        return frr_parse.interfaces(json.loads((FIXTURES / "frr/show-interface.json").read_text()))

    def ping(self, destination, **_):
        return frr_parse.ping((FIXTURES / "frr/ping.txt").read_text())

    def get_route_to(self, destination, protocol=""):
        return frr_parse.route_to(json.loads((FIXTURES / "frr/show-ip-route-address.json").read_text()), protocol)


OSPF = {
    "frr": [("198.18.0.2", "198.18.4.2", "eth0", "Full"), ("198.18.0.9", "198.18.4.14", "eth8", "ExStart")],
    "ios": [("10.190.30.2", "10.190.16.11", "GigabitEthernet0/2.101", "Full"), ("10.190.30.3", "10.190.16.12", "GigabitEthernet0/2.101", "Full"),
            ("10.190.30.2", "10.190.16.3", "GigabitEthernet0/2.100", "Full"), ("10.190.30.3", "10.190.16.4", "GigabitEthernet0/2.100", "Full")],
    "eos": [("7.7.7.7", "10.3.0.1", "Ethernet1", "Full"), ("9.9.9.9", "10.3.0.1", "Ethernet1", "Full"), ("8.8.8.8", "10.3.0.2", "Ethernet1", "2-Way")],
    "junos": [("10.252.0.7", "10.110.36.3", "irb.1390", "Full"), ("192.168.255.255", "10.110.36.62", "irb.1390", "Full")],
    "huawei_vrp": [("10.0.3.3", "", "GigabitEthernet0/0/0", "Full"), ("10.0.2.2", "", "GigabitEthernet0/0/1", "Full")],
}


def driver_of(platform: str):
    return {"frr": FrrRecorded, "huawei_vrp": vrp}.get(platform, lambda: mock(platform))()


@pytest.mark.parametrize("platform", list(OSPF))
def test_ospf_neighbors_of_each_platform_by_its_maintained_parser(platform) -> None:
    found = state_reader(driver_of(platform), platform).ospf_neighbors()
    assert [(n["neighbor_id"], n["address"], n["interface"], n["state"]) for n in found] == OSPF[platform]
    assert [n["is_full"] for n in found] == [state == "Full" for *_, state in OSPF[platform]]


def test_vrp_ospf_table_of_a_netengine_too() -> None:
    driver = vrp()
    driver.device.ANSWERS = {"display ospf peer brief": "display_ospf_peer_brief_ne.txt"}
    found = state_reader(driver, "huawei_vrp").ospf_neighbors()
    assert [(n["interface"], n["neighbor_id"], n["is_full"]) for n in found] == [("GigabitEthernet0/1/0", "10.1.1.2", True), ("GigabitEthernet0/2/0", "10.1.2.2", True)]


@pytest.mark.parametrize("platform", NAPALM_PLATFORMS)
def test_napalm_getters_of_each_platform(platform) -> None:
    interfaces = state_reader(mock(platform), platform).interfaces()
    assert interfaces and all(set(v) == {"enabled", "up", "description", "last_flapped_s"} for v in interfaces.values())
    routes = state_reader(mock(platform), platform).route_to("1.0.4.0/24")
    assert routes and {r["prefix"] for r in routes} == {"1.0.4.0/24"} and any(r["active"] for r in routes)
    ping = state_reader(mock(platform), platform).ping("8.8.8.8", count=5)
    assert ping["sent"] == 5 and ping["received"] == 5 and not ping["error"]
    assert state_reader(mock(platform), platform).running_config().strip()


def test_frr_route_to_and_ping() -> None:
    reader = state_reader(FrrRecorded(), "frr")
    assert reader.route_to("10.26.0.3") == [{"prefix": "10.26.0.3/32", "protocol": "ospf", "next_hop": "198.18.4.3", "interface": "eth2", "active": True}]
    assert frr_parse.route_to(json.loads((FIXTURES / "frr/show-ip-route-address.json").read_text()), "static") == {}
    ping = reader.ping("198.18.0.3")
    assert ping == {"sent": 2, "received": 2, "rtt_avg_ms": 0.073, "error": ""}


def test_eos_flaps_are_seconds_since_the_change_not_a_timestamp() -> None:
    flaps = state_reader(mock("eos"), "eos").flaps(within_s=1e12)
    assert flaps and all(0 <= f["seconds_ago"] < 1e12 for f in flaps)
    assert state_reader(mock("eos"), "eos").flaps(within_s=60) == []  # the recording is years old


def test_junos_flaps_within_a_window() -> None:
    interfaces = state_reader(mock("junos"), "junos").interfaces()
    known = sorted(v["last_flapped_s"] for v in interfaces.values() if v["last_flapped_s"] is not None)
    assert known
    recent = state_reader(mock("junos"), "junos").flaps(within_s=known[0])
    assert recent and all(f["seconds_ago"] <= known[0] for f in recent)


@pytest.mark.parametrize("platform", ["ios", "huawei_vrp"])
def test_a_platform_without_flap_times_says_so(platform) -> None:
    with pytest.raises(Unsupported, match="SNMP ifLastChange is the source"):
        state_reader(driver_of(platform), platform).flaps(3600)


def test_frr_flaps_from_zebra_link_stamps() -> None:
    """zebra's lastLinkUp/lastLinkDown (the lab's FRR); a port that never changed, or a
    recording without the stamps (FRR 8.4's), has no time and is no flap."""
    from datetime import datetime

    data = {"eth0": {"lastLinkUp": "2026/12/05 07:59:00.250", "lastLinkDown": "2026/12/05 07:58:00.000"}, "eth1": {}}

    class Stamped:
        def get_interfaces(self):
            return frr_parse.interfaces(data, now=datetime(2026, 12, 5, 8, 0, 0))

    reader = state_reader(Stamped(), "frr")
    assert reader.flaps(3600) == [{"interface": "eth0", "seconds_ago": 59.8, "up": reader.interfaces()["eth0"]["up"]}]
    assert reader.flaps(30) == []
    assert state_reader(FrrRecorded(), "frr").flaps(3600) == []


class Arp:
    """A driver answering napalm's get_arp_table."""

    def get_arp_table(self, vrf=""):
        return [{"interface": "eth2", "mac": "52:54:00:12:34:56", "ip": "10.26.4.3", "age": -1.0},
                {"interface": "eth3", "mac": "", "ip": "10.26.4.5", "age": -1.0, "state": "FAILED"}]


@pytest.mark.parametrize("platform", ["frr", "ios", "eos", "junos", "huawei_vrp"])
def test_arp_in_one_shape_on_every_platform(platform) -> None:
    assert state_reader(Arp(), platform).arp() == [
        {"ip": "10.26.4.3", "mac": "52:54:00:12:34:56", "interface": "eth2", "state": None},
        {"ip": "10.26.4.5", "mac": "", "interface": "eth3", "state": "FAILED"},
    ]


def test_vrp_through_napalm_huawei_vrp_and_ntc_templates() -> None:
    driver = vrp()
    reader = state_reader(driver, "huawei_vrp")
    interfaces = reader.interfaces()
    assert interfaces["Eth-Trunk2"]["up"] and not interfaces["Aux0/0/1"]["up"]
    routes = reader.route_to("0.0.0.0")
    assert routes[0] == {"prefix": "0.0.0.0/0", "protocol": "static", "next_hop": "192.214.198.156", "interface": "Dialer1", "active": True}
    assert reader.ping("10.26.0.1", source="10.26.0.2", count=1, timeout=1) == {"sent": 1, "received": 1, "rtt_avg_ms": 2.0, "error": ""}
    assert reader.running_config().startswith("sysname cpe-test")
    assert all(read_only_command(c) for c in driver.device.sent if c != "display current-configuration" and not c.startswith("ping "))


#: napalm's get_facts recordings (fixtures/preflight/SOURCES.md) and the version proper.
FACTS = {"ios": ("ios-bare", "WS-C2960G-8TC-L", "15.0(2)SE4"), "eos": ("eos-eapi-open", "vEOS", "4.15.5M-3054042.4155M"),
         "junos": ("junos-ready", "FIREFLY-PERIMETER", "12.1X47-D20.7")}


@pytest.mark.parametrize("platform", FACTS)
def test_facts_give_the_version_proper(platform) -> None:
    folder, model, version = FACTS[platform]
    driver = napalm.get_network_driver("mock")("198.18.0.1", "u", "p", optional_args={"path": str(FIXTURES / "preflight" / folder)})
    driver.open()
    facts = state_reader(driver, platform).facts()
    assert (facts["model"], facts["os_version"]) == (model, version)


def test_vrp_facts_of_an_ar_router_from_display_version() -> None:
    """napalm-huawei-vrp's get_facts looks for an S-series switch's banner: on an AR
    router it answers Unknown for both, which preflight would compare with the inventory."""
    class Recorded(VrpSession):  # the other commands of napalm-huawei-vrp's get_facts matter not here
        def send_command(self, command: str, **_: object) -> str:
            return super().send_command(command) if command in self.ANSWERS else ""

    napalm_only = VRPDriver("198.18.0.1", "u", "p")
    napalm_only.device = Recorded()
    assert {k: v for k, v in napalm_only.get_facts().items() if k in ("model", "os_version")} == {"model": "Unknown", "os_version": "Unknown"}
    driver = vrp()
    facts = state_reader(driver, "huawei_vrp").facts()
    assert (facts["vendor"], facts["model"], facts["os_version"]) == ("Huawei", "AR617VW-LTE4EA", "V300R019C13SPC200")
    assert driver.device.sent == ["display version"] and read_only_command("display version")


@pytest.mark.parametrize(("expected", "found", "ok"), [
    ("15.9(3)M7", "15.9(3)M7", True), ("15.9(3)M", "15.9(3)M7", True), ("15.9(3)M", "15.9(3)MA", False), ("15.9", "15.9(3)M7", True),
    ("4.30.2F", "4.30.2F-33092737.4302F", True), ("4.3", "4.30.2F", False), ("4.30", "4.30.2F", True),
    ("23.2R1", "23.2R1-S1.6", True), ("23.2R1", "23.2R10", False), ("v200r010c10", "V200R010C10SPC700", True),
    ("V200R010C10SPC700", "V200R010C10SPC7", False), ("17.9.4a", "17.9.4", False), ("", "17.9.4", False), ("17.9", "", False)])
def test_version_matches_at_a_number_or_word_boundary(expected, found, ok) -> None:
    assert version_matches(expected, found) is ok


def test_every_reader_answers_every_getter_or_says_why() -> None:
    for platform, reader in READERS.items():
        for getter in GETTERS:
            assert getter in reader.unsupported or getter in reader.sources, f"{platform}: {getter}"
        assert "ospf_neighbors" not in reader.unsupported, platform
        assert reader.ospf_neighbors is not StateReader.ospf_neighbors, f"{platform} has no OSPF reader of its own"


class FirstCall(Exception):
    """A reader reached a driver method that answers nothing here."""


class Recorder:
    """A driver that records the methods a reader calls: the configuration session's
    methods answer "nothing loaded, in sync"; any other method stops the getter."""

    QUIET = {"load_replace_candidate": None, "compare_config": "", "discard_config": None}

    def __init__(self):
        self.called: list[str] = []

    def __getattr__(self, name: str):
        def method(*args, **kwargs):
            self.called.append(name)
            if name in self.QUIET:
                return self.QUIET[name]
            raise FirstCall(name)

        return method


GETTER_ARGS = {"route_to": ("10.26.0.1",), "ping": ("10.26.0.1",), "flaps": (60,), "config_diff": ("hostname x\n",)}


@pytest.mark.parametrize("platform", READERS)
def test_no_getter_calls_a_method_its_production_driver_lacks(platform) -> None:
    """The bug this layer fixed: runbooks called get_ospf_neighbors, which only hatang's
    FRR driver has. Every method a reader calls exists on the platform's driver class
    (the one ``net`` opens) and is not napalm's NotImplementedError stub."""
    from napalm.base import NetworkDriver

    from hatang.network.connect import driver_class

    cls = driver_class(platform)
    for getter in GETTERS:
        if getter in READERS[platform].unsupported:
            continue
        recorder = Recorder()
        try:
            getattr(state_reader(recorder, platform), getter)(*GETTER_ARGS.get(getter, ()))
        except FirstCall:
            pass
        assert recorder.called, f"{platform}: {getter} called no driver method"
        for name in recorder.called:
            method = getattr(cls, name, None)
            assert method is not None and method is not getattr(NetworkDriver, name, None), f"{platform}: {getter} calls {cls.__name__}.{name}, which it lacks"


def test_an_address_is_checked_before_it_reaches_a_device() -> None:
    with pytest.raises(HatangError, match="not an IP address"):
        state_reader(mock("ios"), "ios").route_to("10.0.0.1\nreload")


def test_a_runaway_answer_is_refused() -> None:
    class Flood:
        def cli(self, commands, encoding="text"):
            return {commands[0]: "x" * (MAX_OUTPUT_CHARS + 1)}

    with pytest.raises(ParseError, match="more than"):
        state_reader(Flood(), "ios").ospf_neighbors()


def test_docs_platforms_md_is_current() -> None:
    from hatang.network.state.matrix import DOC, render

    assert DOC.read_text(encoding="utf-8") == render(), "docs/platforms.md is stale: run 'hatang net platforms --write'"
