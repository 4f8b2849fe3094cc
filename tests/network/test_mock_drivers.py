"""The push, checks and backups against napalm's mock driver for the production
platforms (IOS, EOS, Junos), with device outputs recorded under fixtures/. Preflight
has tests of its own (test_preflight.py); here it is off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import napalm
import pytest

from hatang import audit
from hatang.errors import UserAbort
from hatang.inventory import load
from hatang.network import backup as backups
from hatang.network.push import push

FIXTURES = Path(__file__).parent / "fixtures"
#: Post-checks that need a reachable device; the mock has none, so only OSPF (parsed
#: from the recorded CLI output) runs.
OFFLINE = ("management", "loopback", "snmp")


@pytest.fixture(scope="module")
def production():
    return load(env="production")


def mock_opener(platform: str, scenario: str):
    def open_driver(inv, name):
        return napalm.get_network_driver("mock")(str(inv.mgmt(name).ip), "user", "pass", optional_args={"path": str(FIXTURES / platform / scenario)})

    return open_driver


def run(inv, device: str, platform: str, scenario: str, **kwargs):
    return push(inv, [device], open_driver=mock_opener(platform, scenario), skip_checks=OFFLINE, check_timeout_s=0.5, show_progress=False, record=False, run_preflight=False, **kwargs)


def test_ios_commit_confirmed_after_ospf_full(production, fake_secrets) -> None:
    report = run(production, "cpe-tich-son", "ios", "commit-ok")
    result = report.results["cpe-tich-son"]
    assert report.ok and report.status("cpe-tich-son") == "committed"
    assert result.checks == {"management": None, "ospf": True, "loopback": None, "snmp": None}
    assert "+ description LAN Tich Son 10.26.64.64/26" in result.diff


def test_eos_uplink_not_full_is_rolled_back(production, fake_secrets) -> None:
    report = run(production, "dr-vinh-yen", "eos", "not-full")
    result = report.results["dr-vinh-yen"]
    assert not report.ok and report.status("dr-vinh-yen") == "rolled-back"
    assert "no Full adjacency on uplink Ethernet1 to core-iic" in result.error


def test_junos_no_change_is_not_committed(production, fake_secrets) -> None:
    report = run(production, "core-iic", "junos", "unchanged")
    assert report.ok and report.status("core-iic") == "unchanged" and not report.changed


def test_ios_rejected_line_is_a_clear_error(production, fake_secrets) -> None:
    report = run(production, "cpe-tich-son", "ios", "rejected")
    result = report.results["cpe-tich-son"]
    assert report.status("cpe-tich-son") == "failed"
    assert "not applied" in result.error and "ip ospf retransmit-interval 1" in result.error


def test_backup_ignores_volatile_lines_one_commit_per_run(production, fake_secrets, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(backups, "repository", lambda: tmp_path / "backups")
    (tmp_path / "backups").mkdir()
    for number in (1, 2, 3):
        run_ = backups.backup(production, ["cpe-tich-son"], open_driver=mock_opener("ios", f"backup/run{number}"), show_progress=False)
        assert run_.changed == (["cpe-tich-son"] if number != 2 else [])  # run 2 differs only in timestamps
    assert len(backups.runs()) == 3
    saved = (tmp_path / "backups" / "cpe-tich-son.cfg").read_text()
    assert "Last configuration change" not in saved and "Current configuration" not in saved
    history = backups.history("cpe-tich-son")
    assert len(history) == 2
    assert "+ description changed by hand" in history[0]["diff"] and "- description WAN uplink" in history[0]["diff"]


def test_audit_record_never_holds_a_credential(production, fake_secrets, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HATANG_STATE_DIR", str(tmp_path))
    push(production, ["cpe-tich-son"], open_driver=mock_opener("ios", "snmp-key-change"), skip_checks=OFFLINE, show_progress=False, run_preflight=False)
    record = list(audit.read("push"))[-1]
    assert record["devices"][0]["data"]["status"] == "committed"
    diff = record["devices"][0]["diff"]
    assert "snmp-server user hatang-mon HATANG-RO v3 auth sha <redacted> priv aes 128 <redacted>" in diff
    assert "golden-priv-key" not in json.dumps(record)
    proc = subprocess.run([sys.executable, "-m", "hatang.cli", "net", "history", "08707", "--env", "production", "--json"],
                          capture_output=True, text=True, env={**os.environ, "HATANG_STATE_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert [d["host"] for r in json.loads(proc.stdout) for d in r["devices"]] == ["cpe-tich-son"]


def test_waves_canary_first_layers_never_mixed(production) -> None:
    from hatang.network.push import plan_waves

    devices = ["cpe-tich-son", "dr-vinh-yen", "cpe-lien-bao", "core-iic", "dr-phuc-yen", "cpe-hoi-hop"]
    assert plan_waves(production, devices, 2) == [["core-iic"], ["dr-phuc-yen", "dr-vinh-yen"], ["cpe-hoi-hop", "cpe-lien-bao"], ["cpe-tich-son"]]
    assert plan_waves(production, ["cpe-tich-son", "cpe-lien-bao"], 10) == [["cpe-lien-bao"], ["cpe-tich-son"]]


@pytest.mark.parametrize(("max_failures", "skipped"), [(0, 3), (1, 0)])
def test_too_many_failures_stop_the_remaining_waves(production, fake_secrets, max_failures, skipped) -> None:
    def open_driver(inv, name):
        args = {"path": str(FIXTURES / "junos" / "unchanged"), "fail_on_open": name == "dr-phuc-yen"}
        return napalm.get_network_driver("mock")(str(inv.mgmt(name).ip), "user", "pass", optional_args=args)

    devices = ["core-iic", "dr-vinh-yen", "dr-phuc-yen", "cpe-tich-son", "cpe-lien-bao", "cpe-hoi-hop"]
    report = push(production, devices, wave_size=2, max_failures=max_failures, open_driver=open_driver, skip_checks=OFFLINE, show_progress=False, record=False, run_preflight=False)
    assert report.status("dr-phuc-yen") == "failed" and "You told me to do this" in report.results["dr-phuc-yen"].error
    assert report.status("dr-vinh-yen") == "unchanged"  # the rest of its wave completed
    assert sum(report.status(d) == "skipped" for d in devices) == skipped
    assert report.stopped_after_wave == (2 if skipped else None) and not report.ok


@pytest.fixture
def cli_push(monkeypatch: pytest.MonkeyPatch):
    """``hatang net push`` on production with the mock driver; each push the command
    makes is recorded as (dry run?, the device's status)."""
    from typer.testing import CliRunner

    from hatang.cli import app
    from hatang.network import push as push_module

    def invoke(device: str, platform: str, scenario: str, *args: str, stdin: str = ""):
        calls: list[tuple[bool, str]] = []

        def mocked(inv, devices, **kwargs):
            kwargs |= {"open_driver": mock_opener(platform, scenario), "skip_checks": OFFLINE, "record": False, "run_preflight": False}
            report = push(inv, devices, **kwargs)
            calls.append((kwargs.get("dry_run", False), report.status(device)))
            return report

        monkeypatch.setattr(push_module, "push", mocked)
        result = CliRunner().invoke(app, ["net", "push", "--site", device, "--env", "production", *args], input=stdin)
        return result, calls

    return invoke


def test_a_production_push_previews_and_asks_first(cli_push, fake_secrets) -> None:
    declined, calls = cli_push("cpe-tich-son", "ios", "commit-ok", stdin="n\n")
    assert isinstance(declined.exception, UserAbort) and "nothing was changed" in str(declined.exception)
    assert "would-change" in declined.output and "push to 1 production router(s)?" in declined.output
    assert calls == [(True, "would-change")]  # the preview only: nothing was committed
    accepted, calls = cli_push("cpe-tich-son", "ios", "commit-ok", stdin="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert calls == [(True, "would-change"), (False, "committed")]


def test_yes_skips_the_question_and_no_change_asks_nothing(cli_push, fake_secrets) -> None:
    pushed, calls = cli_push("cpe-tich-son", "ios", "commit-ok", "--yes")
    assert pushed.exit_code == 0 and "router(s)?" not in pushed.output, pushed.output
    assert calls == [(True, "would-change"), (False, "committed")]
    unchanged, calls = cli_push("core-iic", "junos", "unchanged")
    assert unchanged.exit_code == 0 and "router(s)?" not in unchanged.output, unchanged.output
    assert calls == [(True, "unchanged"), (False, "unchanged")]
