"""The ``hatang cloud`` commands: JSON for scripts, tables for people, clear errors, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HATANG = [sys.executable, "-m", "hatang.cli", "cloud"]


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([*HATANG, *args], capture_output=True, text=True, input=stdin, env=os.environ.copy(), timeout=120)


def test_plan_apply_replan_destroy_through_the_cli(sim):
    planned = run("plan", "--json", "--cluster", "pve-dmz")
    assert planned.returncode == 0, planned.stderr
    data = json.loads(planned.stdout)
    assert data["summary"]["create"] == 6 and data["api_calls"] == {"pve-dmz": 6}
    assert run("plan", "--cluster", "pve-dmz", "--detailed-exitcode").returncode == 2
    declined = run("apply", "--cluster", "pve-dmz", stdin="n\n")
    assert declined.returncode == 3 and "nothing applied" in declined.stderr
    assert json.loads(run("plan", "--json", "--cluster", "pve-dmz").stdout)["summary"]["create"] == 6
    applied = run("apply", "--yes", "--json", "--cluster", "pve-dmz", "--concurrency", "3")
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["ok"] is True
    again = run("plan", "--cluster", "pve-dmz")
    assert again.returncode == 0 and "nothing to do" in again.stdout and "API calls read: pve-dmz 6" in again.stdout
    assert run("plan", "--cluster", "pve-dmz", "--detailed-exitcode").returncode == 0
    drift = run("drift", "--json", "--cluster", "pve-dmz")
    assert drift.returncode == 0 and json.loads(drift.stdout)["drift"] == []
    kept = run("destroy", "dvc-web-01", stdin="n\n")
    assert kept.returncode == 3 and "Destroy qemu 'dvc-web-01'" in kept.stderr
    gone = run("destroy", "dvc-web-01", "--yes", "--json")
    assert gone.returncode == 0 and json.loads(gone.stdout)["name"] == "dvc-web-01"


def test_bad_input_is_a_clear_error(sim):
    unknown = run("plan", "--cluster", "pve-nowhere")
    assert unknown.returncode == 1 and "unknown cluster pve-nowhere" in unknown.stderr and "Traceback" not in unknown.stderr
    missing = run("destroy", "no-such-vm", "--yes")
    assert missing.returncode == 1 and "no guest named 'no-such-vm'" in missing.stderr


def test_no_simulator_endpoints_is_a_clear_error(hatang_tmp_env):
    result = run("plan")
    assert result.returncode == 1 and "no Proxmox endpoints file" in result.stderr and "lab up" in result.stderr


def test_unreachable_endpoint_is_a_clear_error(hatang_tmp_env, monkeypatch):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoints = hatang_tmp_env / "endpoints.json"
    endpoints.write_text(json.dumps({c: {"host": "127.0.0.1", "port": port} for c in ("pve-core", "pve-dmz")}))
    monkeypatch.setenv("HATANG_PVE_ENDPOINTS", str(endpoints))
    result = run("plan", "--cluster", "pve-dmz")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"pve-dmz: cannot reach the Proxmox API at https://127.0.0.1:{port}/api2/json" in result.stderr
