"""The engine without devices: dispatch by role, one failing check never stops the
others, advice from findings, and the read-only guard."""

from __future__ import annotations

import pytest

import hatang.inventory
from hatang.runbooks import access, catalog, engine
from hatang.runbooks.checks import CHECKS
from hatang.runbooks.context import CheckContext, Outcome

TARGET = "cpe-tich-son"


@pytest.fixture(scope="module")
def inv():
    return hatang.inventory.load(None, "lab")


@pytest.fixture(scope="module")
def small(inv):
    return {d.name for d in inv.lab_devices("small")}


def scripted(statuses: dict[tuple[str, str], str], calls: list):
    """A check answering from ``statuses`` by (check, device); 'raise' raises."""

    def check_as(name: str):
        def check(ctx: CheckContext) -> Outcome:
            calls.append((name, ctx.subject.role, ctx.device))
            status = statuses.get((name, ctx.device), "ok")
            if status == "raise":
                raise TimeoutError(f"{ctx.device} timed out")
            down = [{"port": p.name, "link": p.link.id} for p in ctx.subject.ports if p.link] if status == "fail" else []
            return Outcome(status, f"{name} {status}", data={"down": down})

        return check

    return check_as


def run_scripted(monkeypatch, inv, small, runbook: str, statuses: dict) -> tuple:
    calls: list = []
    check_as = scripted(statuses, calls)
    for name in CHECKS:
        monkeypatch.setitem(CHECKS, name, check_as(name))
    report = engine.diagnose(inv, catalog.find(runbook), TARGET, small, access.DriverPool(inv), show_progress=False)
    return report, calls


def test_every_declared_check_runs_on_the_devices_of_its_role(monkeypatch, inv, small):
    report, calls = run_scripted(monkeypatch, inv, small, "device-down", {})
    declared = catalog.find("device-down").meta.diagnostics
    assert [(f.check, f.role) for f in report.findings] == [(d.check, d.role) for d in declared]
    assert ("mgmt_ping", "uplink", "dr-vinh-yen") in calls
    assert ("interfaces", "target", TARGET) in calls
    downlinks = [f for f in report.findings if f.role == "downlinks"]
    assert [f.status for f in downlinks] == ["skip"], "a commune CPE has no downlink neighbour"


def test_a_failing_check_does_not_stop_the_others(monkeypatch, inv, small):
    report, calls = run_scripted(monkeypatch, inv, small, "device-down", {("ospf_neighbors", "dr-vinh-yen"): "raise"})
    broken = next(f for f in report.findings if f.check == "ospf_neighbors")
    assert broken.status == "error" and "dr-vinh-yen timed out" in broken.error
    assert len(calls) == len([f for f in report.findings if f.status != "skip"])
    assert all(f.status in ("ok", "skip") for f in report.findings if f is not broken)


def test_power_loss_or_fibre_cut_advice_names_the_uplink_and_link(monkeypatch, inv, small):
    statuses = {("mgmt_ping", TARGET): "fail", ("interfaces", "dr-vinh-yen"): "fail"}
    report, _ = run_scripted(monkeypatch, inv, small, "device-down", statuses)
    assert "power loss at Phường Vĩnh Yên, Tích Sơn cũ or a fibre cut" in report.next_step["en"]  # the 2025 unit first
    assert (report.site, report.site_name) == ("tich-son", "Phường Vĩnh Yên, Tích Sơn cũ")  # a command takes the slug
    assert "port eth2 towards cpe-tich-son" in report.next_step["en"]
    assert "dr-vinh-yen--cpe-tich-son" in report.next_step["vi"]


def test_fallback_advice_when_every_check_passes(monkeypatch, inv, small):
    report, _ = run_scripted(monkeypatch, inv, small, "wan-link-down", {})
    assert report.failed == []
    assert report.next_step["en"].startswith("Every check passes")


def test_unrecognised_failures_never_get_the_all_clear(monkeypatch, inv, small):
    report, _ = run_scripted(monkeypatch, inv, small, "wan-link-down", {("backup_diff", TARGET): "raise"})
    assert report.next_step["en"].startswith("The findings match none of this runbook's patterns")
    assert "Every check passes" not in report.next_step["en"]


def test_down_links_from_findings_fill_the_advice(monkeypatch, inv, small):
    statuses = {("interfaces", TARGET): "fail", ("interfaces", "dr-vinh-yen"): "fail"}
    report, _ = run_scripted(monkeypatch, inv, small, "wan-link-down", statuses)
    assert "Link dr-vinh-yen--cpe-tich-son is down at both ends" in report.next_step["en"]


def test_a_site_outside_the_running_lab_is_refused(inv, small):
    with pytest.raises(Exception, match="not part of the running lab"):
        engine.run(inv, catalog.find("device-down"), "dr-phuc-yen", present=small, show_progress=False)
    with pytest.raises(Exception, match="unknown site 'nowhere'"):
        engine.run(inv, catalog.find("device-down"), "nowhere", present=small, show_progress=False)


class Recorder:
    """A stand-in driver that records what reaches it."""

    def __init__(self):
        self.calls: list[str] = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append(name)
            return {}

        return call


@pytest.mark.parametrize("method", ["load_merge_candidate", "load_replace_candidate", "commit_config", "rollback", "discard_config", "confirm_commit"])
def test_the_guard_refuses_every_changing_method(method):
    raw = Recorder()
    guarded = access.ReadOnlyDriver(raw, "cpe-x")
    with pytest.raises(access.ReadOnlyViolation, match=f"cpe-x: '{method}' is not a read-only"):
        getattr(guarded, method)
    assert raw.calls == []


@pytest.mark.parametrize("command", ["configure terminal", "show ip ospf neighbor\nreload", "display ip routing-table 10.0.0.1 verbose | save", "request system reboot"])
def test_the_guard_refuses_any_command_but_the_state_readers(command):
    raw = Recorder()
    guarded = access.ReadOnlyDriver(raw, "cpe-x")
    with pytest.raises(access.ReadOnlyViolation, match="is not a show command of hatang's state readers"):
        guarded.cli(["show ip ospf neighbor", command])
    assert raw.calls == []


def test_the_guard_lets_the_state_readers_commands_through():
    raw = Recorder()
    access.ReadOnlyDriver(raw, "cpe-x").cli(["show ip ospf neighbor", "display ip routing-table 10.26.0.7 verbose"])
    assert raw.calls == ["cli"]


def test_the_guard_lets_getters_and_ping_through():
    raw = Recorder()
    guarded = access.ReadOnlyDriver(raw, "cpe-x")
    guarded.get_ospf_neighbors()
    guarded.ping("198.18.0.3")
    guarded.is_alive()
    assert raw.calls == ["get_ospf_neighbors", "ping", "is_alive"]


def test_a_device_that_failed_to_open_is_not_retried(inv):
    opened: list[str] = []

    def factory(_inv, device):
        opened.append(device)
        raise ConnectionError(f"{device}: unreachable")

    pool = access.DriverPool(inv, factory)
    for _ in range(3):
        with pytest.raises(ConnectionError):
            pool.get(TARGET)
    assert opened == [TARGET]


def test_down_links_name_lan_ports_by_device():
    from hatang.runbooks.advice import down_links
    from hatang.runbooks.findings import Finding

    findings = [
        Finding("interfaces", "target", TARGET, "fail", "", data={"down": [{"port": "eth1", "kind": "lan", "link": None}, {"port": "eth0", "kind": "uplink", "link": "dr-vinh-yen--cpe-tich-son"}]}),
        Finding("interfaces", "uplink", "dr-vinh-yen", "fail", "", data={"down": [{"port": "eth2", "kind": "downlink", "link": "dr-vinh-yen--cpe-tich-son"}]}),
    ]
    assert down_links(findings) == [f"{TARGET} eth1 (lan)", "dr-vinh-yen--cpe-tich-son"]
