"""The change checks over the real audit log and the real backup repository (git),
written the way the network room writes them, in a scratch state directory."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import hatang.inventory
from hatang import audit
from hatang.network import backup
from hatang.network.push import DeviceResult, PushReport
from hatang.results import Results
from hatang.runbooks.checks import changes
from hatang.runbooks.context import CheckContext, Subject

DEVICE = "cpe-tich-son"
NOW = datetime.now(timezone.utc)


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("HATANG_STATE_DIR", str(tmp_path))


def context(**params) -> CheckContext:
    inv = hatang.inventory.load(None, "lab")
    return CheckContext(inv, Subject("target", DEVICE), DEVICE, "core-iic", params, drivers=None, now=NOW)


def record_push(device: str, status: str, *, hours_ago: float = 0.1, diff: str = "", error: str = "") -> None:
    """Append a push record as hatang.network.push does (its PushReport, as a dict)."""
    result = DeviceResult(host=device, ok=status in ("committed", "unchanged"), changed=status != "unchanged", diff=diff, error=error, status=status)
    report = PushReport(waves=[[device]], results=Results({device: result}))
    when = (NOW - timedelta(hours=hours_ago)).isoformat(timespec="seconds")
    audit.append("push", {"environment": "lab", **report.as_dict(), "when": when})


def test_no_push_is_ok():
    record_push("cpe-lien-bao", "committed")
    outcome = changes.recent_pushes(context())
    assert outcome.status == "ok" and "no push to cpe-tich-son" in outcome.summary


def test_rolled_back_push_is_a_suspect_with_its_diff():
    record_push(DEVICE, "committed", hours_ago=3, diff="+ip ospf cost 100")
    record_push(DEVICE, "unchanged", hours_ago=1)
    record_push(DEVICE, "rolled-back", hours_ago=0.2, diff=" interface eth0\n+ shutdown", error="post-checks failed")
    outcome = changes.recent_pushes(context())
    assert outcome.status == "warn"
    assert outcome.data["count"] == 2, "an unchanged push touched nothing"
    assert outcome.summary.startswith("2 push(es) in the last 24 h; latest") and outcome.summary.endswith("rolled-back")
    assert "rolled-back by" in outcome.details[0] and "(+1/-0 lines): post-checks failed" in outcome.details[0]
    assert "latest diff: + shutdown" in outcome.details


def test_pushes_older_than_the_lookback_are_left_out():
    record_push(DEVICE, "committed", hours_ago=30)
    assert changes.recent_pushes(context()).status == "ok"
    assert changes.recent_pushes(context(lookback_h=48)).status == "warn"


def commit_backup(text: str) -> None:
    repo = backup.ensure_repository()
    (repo / f"{DEVICE}.cfg").write_text(text)
    backup.git("add", "-A")
    backup.git("commit", "-q", "-m", "backup")


def test_backup_diff_without_backups_is_skipped():
    assert changes.backup_diff(context()).status == "skip"


def test_backup_diff_shows_the_latest_change():
    commit_backup("hostname cpe-tich-son\ninterface eth0\n ip ospf cost 100\n")
    assert changes.backup_diff(context()).status == "ok", "a first backup is no change"
    commit_backup("hostname cpe-tich-son\ninterface eth0\n ip ospf cost 10\n")
    outcome = changes.backup_diff(context())
    assert outcome.status == "warn"
    assert outcome.details == ["- ip ospf cost 100", "+ ip ospf cost 10"]
