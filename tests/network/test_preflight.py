"""Preflight and the revert timer: a production router that lacks what its driver
needs is stopped before anything is sent, with the lines that fix it; ``--revert-in``
is validated and rounded per platform. Device answers: fixtures/preflight/SOURCES.md."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import napalm
import pytest

from hatang.errors import HatangError
from hatang.inventory import load
from hatang.network import prerequisites
from hatang.network.preflight import check, describe, failed, host_key
from hatang.network.push import push
from hatang.network.revert_time import revert_seconds, validate

FIXTURES = Path(__file__).parent / "fixtures" / "preflight"
OFFLINE = ("management", "loopback", "snmp")


@pytest.fixture(scope="module")
def production():
    return load(env="production")


def mock(path: Path):
    driver = napalm.get_network_driver("mock")("10.26.192.7", "u", "p", optional_args={"path": str(path)})
    driver.open()
    return driver


def items_of(production, device: str, path: Path) -> dict:
    return {i.name: i for i in check(production, device, mock(path), "hostname x\n" * 100)}


def test_ios_without_archive_and_scp_names_the_lines_to_add(production) -> None:
    items = items_of(production, "cpe-tich-son", FIXTURES / "ios-bare")
    assert not items["archive"].ok and items["archive"].fix == ["archive", " path flash:hatang-archive", " maximum 14"]
    assert not items["scp server"].ok and items["scp server"].fix == ["ip scp server enable"]
    assert items["free flash"].ok and "6612774912 bytes free" in items["free flash"].detail
    assert not items["platform"].ok and "WS-C2960G-8TC-L" in items["platform"].detail and "ISR1111-4P" in items["platform"].detail
    assert items["no pending commit"].ok


def ios_ready(tmp_path: Path) -> Path:
    """The bare IOS recording with the lines preflight printed added."""
    ready = tmp_path / "ios-ready"
    shutil.copytree(FIXTURES / "ios-bare", ready)
    config = json.loads((ready / "get_config.1").read_text())
    added = [line for item in prerequisites.PREREQUISITES["ios"] for line in item.lines]
    config["running"] = config["running"].replace("\nend", "\n" + "\n".join(added) + "\nend")
    (ready / "get_config.1").write_text(json.dumps(config))
    return ready


def test_ios_ready_once_the_printed_lines_are_added(production, tmp_path, monkeypatch) -> None:
    ready = ios_ready(tmp_path)
    device = production.device
    monkeypatch.setattr(production, "device", lambda name: device(name).model_copy(update={"model": "WS-C2960G-8TC-L"}))  # the recording's router
    items = list(items_of(production, "cpe-tich-son", ready).values())
    assert not failed(items), describe(items)


def test_eos_eapi_open_to_everyone_is_refused(production) -> None:
    items = items_of(production, "dr-vinh-yen", FIXTURES / "eos-eapi-open")
    assert items["eAPI"].ok and items["free flash"].ok and items["free flash"].detail.startswith("not needed")
    assert not items["eAPI only from the management network"].ok and "ip access-group MGMT-ONLY" in items["eAPI only from the management network"].fix[-1]  # the ACL hatang's templates define
    assert "   vrf default" in items["eAPI only from the management network"].fix  # a district is managed in band: eAPI in the global table
    eapi = next(p for p in prerequisites.PREREQUISITES["eos"] if p.name == "eAPI only from the management network")
    assert "   vrf MGMT" in eapi.fix(in_band=False) and "   vrf MGMT" not in eapi.fix(in_band=True)


def test_junos_without_netconf_is_refused(production) -> None:
    running = json.loads((FIXTURES / "junos-ready/get_config.1").read_text())["running"]
    assert not prerequisites.missing("junos", running)
    without = running.replace("netconf {\n            ssh;\n        }", "")
    assert [p.name for p in prerequisites.missing("junos", without)] == ["NETCONF over SSH"]


def test_a_pending_commit_stops_the_device(production) -> None:
    driver = mock(FIXTURES / "junos-ready")
    driver._pending_commits = True  # what the router reports: a commit waiting for its confirm
    items = {i.name: i for i in check(production, "core-iic", driver, "")}
    assert not items["no pending commit"].ok


def test_an_unknown_host_key_is_a_finding_with_the_command(production, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HATANG_STATE_DIR", str(tmp_path))
    item = host_key(production, "cpe-tich-son")
    # a commune is managed in band: the host key is its loopback's, reached over the WAN
    assert str(production.mgmt("cpe-tich-son").ip) == "10.26.0.3"
    assert not item.ok and item.fix[0].startswith("ssh-keyscan -t ed25519,rsa 10.26.0.3 >> ")


def without(tmp_path: Path, folder: str, text: str) -> Path:
    """A recording whose running configuration lacks ``text``."""
    copy = tmp_path / folder
    shutil.copytree(FIXTURES / folder, copy)
    config = json.loads((copy / "get_config.1").read_text())
    assert text in config["running"]
    config["running"] = config["running"].replace(text, "")
    (copy / "get_config.1").write_text(json.dumps(config))
    return copy


#: A production router lacking what its driver needs, and the lines the push must name:
#: IOS without archive (and SCP), EOS without eAPI, Junos without NETCONF.
LACKING = {
    "cpe-tich-son": (None, "", ("archive / path flash:hatang-archive / maximum 14", "ip scp server enable")),
    "dr-vinh-yen": ("eos-eapi-open", "\t management api http-commands\n\t    no shutdown\n", ("eAPI: missing", "management api http-commands / protocol https / no shutdown")),
    "core-iic": ("junos-ready", "netconf {\n            ssh;\n        }", ("NETCONF over SSH: missing", "set system services netconf ssh")),
}


@pytest.mark.parametrize("device", LACKING)
def test_a_push_stops_a_router_at_preflight_before_any_change(production, fake_secrets, tmp_path, device) -> None:
    folder, text, named = LACKING[device]
    recording = FIXTURES / "ios-bare" if folder is None else without(tmp_path, folder, text)
    loaded = []

    def open_driver(inv, name):
        driver = mock(recording)
        driver.load_replace_candidate = lambda **kw: loaded.append(name)  # would be the first change
        return driver

    report = push(production, [device], open_driver=open_driver, skip_checks=OFFLINE, show_progress=False, record=False)
    result = report.results[device]
    assert report.status(device) == "failed" and not result.changed and loaded == []
    assert result.error.startswith("stopped before any change, preflight:")
    for expected in named:
        assert expected in result.error, result.error


@pytest.mark.parametrize(("platform", "requested", "rounded"), [("ios", 60, 60), ("ios", 150, 120), ("ios", 7200, 7200), ("junos", 119, 60), ("eos", 15, 15), ("frr", 15, 15)])
def test_revert_in_is_rounded_per_platform(platform, requested, rounded) -> None:
    assert revert_seconds(platform, requested) == rounded


@pytest.mark.parametrize(("platform", "requested"), [("ios", 15), ("ios", 59), ("ios", 7201), ("junos", 15), ("huawei_vrp", 30)])
def test_revert_in_outside_the_platform_window_is_refused(platform, requested) -> None:
    with pytest.raises(HatangError, match=f"--revert-in {requested}: {platform} reverts after"):
        revert_seconds(platform, requested)


def test_checks_must_end_before_the_rounded_revert() -> None:
    validate(["ios"], 119, 20)  # rounded to 60: 20 s of checks + 10 s to confirm fit
    with pytest.raises(HatangError, match="leaves no time to confirm before ios's revert after 60 s"):
        validate(["ios"], 119, 55)
    validate(["frr"], 8, 7)  # the lab's FRR: the confirm is one request on an open session
    with pytest.raises(HatangError, match="keep 1 s between them"):
        validate(["frr"], 8, 7.5)


def test_revert_in_15_is_refused_before_anything_is_sent(fake_secrets, monkeypatch) -> None:
    from typer.testing import CliRunner

    from hatang.cli import app
    from hatang.network import push as push_module

    monkeypatch.setattr(push_module, "push", lambda *a, **kw: pytest.fail("a push (or its preview) started"))
    for site, platform in (("08707", "ios"), ("core-iic", "junos")):
        result = CliRunner().invoke(app, ["net", "push", "--site", site, "--env", "production", "--revert-in", "15", "--yes"])
        assert isinstance(result.exception, HatangError) and result.exception.exit_code == 2
        assert f"--revert-in 15: {platform} reverts after 60" in result.exception.message


def test_net_preflight_prints_the_lines_to_add(production, fake_secrets, tmp_path, monkeypatch) -> None:
    import paramiko
    from typer.testing import CliRunner

    from hatang.cli import app
    from hatang.network import preflight as preflight_module
    from hatang.network.connect import known_hosts_path

    monkeypatch.setenv("HATANG_STATE_DIR", str(tmp_path))
    known = known_hosts_path("production")
    known.parent.mkdir(parents=True, exist_ok=True)
    keys = paramiko.HostKeys()
    keys.add(str(production.mgmt("cpe-tich-son").ip), "ssh-ed25519", paramiko.Ed25519Key.from_private_key_file(str(write_ed25519(tmp_path))))
    keys.save(str(known))
    run = preflight_module.preflight
    monkeypatch.setattr(preflight_module, "preflight", lambda inv, devices, **kw: run(inv, devices, open_driver=lambda i, n: mock(FIXTURES / "ios-bare"), **kw))
    result = CliRunner().invoke(app, ["net", "preflight", "--site", "08707", "--env", "production"])
    assert result.exit_code == 1, result.output
    assert "cpe-tich-son archive: add" in result.output and "     path flash:hatang-archive" in result.output
    assert "ip scp server enable" in result.output
    as_json = CliRunner().invoke(app, ["net", "preflight", "--site", "08707", "--env", "production", "--json"])
    items = {i["name"]: i for i in json.loads(as_json.output)["devices"][0]["items"]}
    assert items["host key"]["ok"] and not items["archive"]["ok"] and items["archive"]["fix"][0] == "archive"


def write_ed25519(directory: Path) -> Path:
    """A throw-away host key, as the router's would be in known_hosts."""
    import subprocess

    path = directory / "router_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def with_version(inv, monkeypatch, device: str, os_version: str):
    """``inv`` with ``device``'s inventory record stating ``os_version``."""
    record = inv.device(device)
    monkeypatch.setitem(inv.device_by_name, device, record.model_copy(update={"os_version": os_version}))
    return inv


@pytest.mark.parametrize(("expected", "ok"), [("15.0(2)SE4", True), ("15.0(2)SE", True), ("15.0(2)", True), ("15.0", True),
                                               ("15.9(3)M7", False), ("15.0(2)SE", True), ("15.0(2)S", False), ("15.", True), ("1", False)])
def test_the_software_version_against_the_inventory(production, monkeypatch, expected, ok) -> None:
    """napalm's IOS facts give the banner (C2960 Software …, Version 15.0(2)SE4, …): the
    version proper is compared, a leading part ending at a number's or word's end is enough."""
    items = {i.name: i for i in check(with_version(production, monkeypatch, "cpe-tich-son", expected), "cpe-tich-son", mock(FIXTURES / "ios-bare"), "")}
    version = items["software version"]
    assert version.ok is ok
    if not ok:
        assert version.detail == f"cpe-tich-son runs 15.0(2)SE4, the inventory says {expected}"
        assert version.action == "do" and version.fix == [f"upgrade cpe-tich-son to {expected}, or, once 15.0(2)SE4 is approved, set os_version: 15.0(2)SE4 on cpe-tich-son in the inventory's network.yaml"]


def test_no_version_in_the_inventory_is_not_a_finding(production) -> None:
    items = {i.name: i for i in check(production, "core-iic", mock(FIXTURES / "junos-ready"), "")}
    assert items["software version"].ok and items["software version"].detail == "12.1X47-D20.7 (the inventory states no os_version for core-iic)"


def test_a_push_stops_a_router_on_the_wrong_version_before_any_change(production, fake_secrets, monkeypatch, tmp_path) -> None:
    ready = ios_ready(tmp_path)
    facts = json.loads((ready / "get_facts.1").read_text())
    (ready / "get_facts.1").write_text(json.dumps(facts | {"model": "ISR1111-4P"}))  # the right model, an old version
    loaded = []

    def open_driver(inv, name):
        driver = mock(ready)
        driver.load_replace_candidate = lambda **kw: loaded.append(name)
        return driver

    inv = with_version(production, monkeypatch, "cpe-tich-son", "17.9")
    report = push(inv, ["cpe-tich-son"], open_driver=open_driver, skip_checks=OFFLINE, show_progress=False, record=False)
    error = report.results["cpe-tich-son"].error
    assert report.status("cpe-tich-son") == "failed" and loaded == []
    assert error == ("stopped before any change, preflight: software version: cpe-tich-son runs 15.0(2)SE4, the inventory says 17.9 "
                     "(do: upgrade cpe-tich-son to 17.9, or, once 15.0(2)SE4 is approved, set os_version: 15.0(2)SE4 on cpe-tich-son in the inventory's network.yaml)")


def test_the_lab_compares_no_production_version(monkeypatch) -> None:
    """In the lab every router is FRR: the inventory's IOS version and model are not its."""
    from hatang.network.preflight import identity_items

    lab = load(env="lab")
    with_version(lab, monkeypatch, "cpe-tich-son", "15.9(3)M")
    items = {i.name: i for i in identity_items(lab, "cpe-tich-son", {"vendor": "FRRouting", "model": "FRRouting", "os_version": "8.4.4", "hostname": ""})}
    assert items["platform"].ok and items["software version"].ok
    assert "not compared" in items["software version"].detail


@pytest.mark.parametrize("bad", ["15.9 M", "", "-15.9", "15.9\n", "x" * 65])
def test_a_bad_os_version_is_refused_naming_the_file_and_key(tmp_path, bad) -> None:
    from hatang.paths import DEFAULT_INVENTORY

    shutil.copytree(DEFAULT_INVENTORY, tmp_path / "inventory")
    network = tmp_path / "inventory" / "network.yaml"
    text = network.read_text(encoding="utf-8")
    marked = text.replace("- name: cpe-tich-son\n  site: tich-son\n  role: commune_cpe\n  platform: ios\n  model: ISR1111-4P\n",
                          f"- name: cpe-tich-son\n  site: tich-son\n  role: commune_cpe\n  platform: ios\n  model: ISR1111-4P\n  os_version: {json.dumps(bad)}\n")
    assert marked != text
    network.write_text(marked, encoding="utf-8")
    with pytest.raises(HatangError) as refused:
        load(tmp_path / "inventory", "production")
    message = refused.value.message + "\n" + "\n".join(str(d) for d in getattr(refused.value, "details", []) or [])
    assert f"network.yaml:{text[:text.index('- name: cpe-tich-son')].count(chr(10)) + 6}: devices[" in message and "].os_version: " in message
    assert "not a software version" in message or "character" in message or "must not be empty" in message


def test_a_good_os_version_loads(tmp_path) -> None:
    from hatang.paths import DEFAULT_INVENTORY

    shutil.copytree(DEFAULT_INVENTORY, tmp_path / "inventory")
    network = tmp_path / "inventory" / "network.yaml"
    text = network.read_text(encoding="utf-8")
    network.write_text(text.replace("  model: MX204\n", "  model: MX204\n  os_version: 23.2R1-S1.6\n", 1), encoding="utf-8")
    assert load(tmp_path / "inventory", "production").device("core-iic").os_version == "23.2R1-S1.6"


@pytest.mark.parametrize(("expected", "ok"), [("4.15.5M", True), ("4.15", True), ("4.30.2F", False)])
def test_eos_version_through_the_real_driver(production, monkeypatch, expected, ok) -> None:
    """napalm's real EOSDriver.get_facts on eAPI's recorded ``show version``: the
    version it reports is internalVersion, which a stated 4.15.5M matches."""
    from napalm.eos import eos as napalm_eos

    from tests.network.test_real_drivers import EosRouter

    class Recorded(EosRouter):
        def run_commands(self, commands, encoding="json", **kwargs):
            if commands == ["show version", "show hostname", "show interfaces"]:
                return [json.loads((FIXTURES / "eos-eapi-open/show_version.json").read_text()), {"hostname": "localhost", "fqdn": "localhost"}, {"interfaces": {}}]
            return super().run_commands(commands, encoding, **kwargs)

    driver = napalm_eos.EOSDriver("10.26.192.6", "netadmin", "pw", optional_args={"transport": "https"})
    driver.device = Recorded()
    items = {i.name: i for i in check(with_version(production, monkeypatch, "dr-vinh-yen", expected), "dr-vinh-yen", driver, "")}
    assert items["software version"].ok is ok, items["software version"].detail
    assert items["software version"].detail == (f"4.15.5M-3054042.4155M, the inventory says {expected}" if ok else
                                                f"dr-vinh-yen runs 4.15.5M-3054042.4155M, the inventory says {expected}")
    assert not items["platform"].ok and "vEOS" in items["platform"].detail and "7280R3" in items["platform"].detail  # the recording is a vEOS


def test_every_preflight_item_is_a_row_of_the_platform_matrix(production) -> None:
    """docs/platforms.md lists preflight's items from preflight.NEEDS: every item a run
    reports is a row (a platform's prerequisites under "prerequisites"), and every row
    reads a state getter or names its source."""
    from hatang.network.preflight import NEEDS
    from hatang.network.state import GETTERS

    for device, folder in (("cpe-tich-son", "ios-bare"), ("dr-vinh-yen", "eos-eapi-open"), ("core-iic", "junos-ready")):
        items = check(production, device, mock(FIXTURES / folder), "")
        prerequisite_names = {p.name for p in prerequisites.PREREQUISITES[production.platform(device).value]}
        assert {i.name for i in items} - prerequisite_names == set(NEEDS) - {"prerequisites", "host key", "reachable, credentials accepted"}
    for needs in NEEDS.values():
        assert all(need in GETTERS or " " in need for need in needs)
