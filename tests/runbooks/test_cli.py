"""``hatang runbook`` as a user runs it: list, show, and run's refusals of bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hatang.runbooks import catalog

HATANG = [sys.executable, "-m", "hatang.cli"]


def hatang(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*HATANG, "runbook", *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


def test_list_json_has_every_runbook():
    proc = hatang("list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["alert"] for r in rows] == [r.alert for r in catalog.load_all()]
    assert all(r["file"] == f"runbooks/{catalog.kebab_name(r['alert'])}.md" for r in rows)


def test_list_table_names_alerts_and_files():
    proc = hatang("list")
    assert proc.returncode == 0
    assert "HatangWanLinkDown" in proc.stdout and "runbooks/wan-link-down.md" in proc.stdout


@pytest.mark.parametrize("name", ["HatangWanLinkDown", "wan-link-down"])
def test_show_renders_both_languages(name):
    proc = hatang("show", name)
    assert proc.returncode == 0, proc.stderr
    for text in ("Tiếng Việt", "English", "Ý nghĩa", "Meaning", "telecom provider NOC", "hatang runbook run HatangWanLinkDown --target"):
        assert text in proc.stdout
    assert "##" not in proc.stdout, "Markdown is rendered, not printed raw"


def test_show_json_carries_the_markdown_and_the_checks():
    data = json.loads(hatang("show", "device-down", "--json").stdout)
    assert data["alert"] == "HatangDeviceDown"
    assert "## English" in data["markdown"]
    assert "uplink.interfaces" in data["checks"]


def test_unknown_alert_is_a_clear_error():
    proc = hatang("show", "HatangCoffeeEmpty")
    assert proc.returncode != 0
    assert "no runbook for 'HatangCoffeeEmpty'" in proc.stderr and "Traceback" not in proc.stderr


def test_run_without_a_lab_says_so(tmp_path):
    proc = hatang("run", "HatangDeviceDown", "--target", "tich-son", env={"HATANG_STATE_DIR": str(tmp_path)})
    assert proc.returncode != 0
    assert "the lab is not up" in proc.stderr and "Traceback" not in proc.stderr


def test_run_on_an_unknown_site_names_it(tmp_path):
    proc = hatang("run", "HatangDeviceDown", "--target", "atlantis", env={"HATANG_STATE_DIR": str(tmp_path)})
    assert proc.returncode == 2
    assert "unknown site 'atlantis'" in proc.stderr
