"""The monitor commands' refusals: a clear message naming what is wrong, a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HATANG = [sys.executable, "-m", "hatang.cli"]
DUMMY_V3 = {"HATANG_SECRET_SNMP_V3_USERNAME": "u", "HATANG_SECRET_SNMP_V3_AUTH_KEY": "authkey123", "HATANG_SECRET_SNMP_V3_PRIV_KEY": "privkey123"}


def hatang(*args: str, state: Path, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HATANG_SECRET_")}
    env.update(HATANG_STATE_DIR=str(state), **(extra or {}))
    return subprocess.run([*HATANG, *args], capture_output=True, text=True, timeout=60, env=env)


def test_poll_without_credentials_names_them(tmp_path: Path) -> None:
    done = hatang("monitor", "poll", "--site", "tich-son", state=tmp_path)
    assert done.returncode == 1
    assert "credential 'snmp-v3' field 'username' is not set" in done.stderr and "HATANG_SECRET_SNMP_V3_USERNAME" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "nowhere"], "unknown site 'nowhere'"),
        (["--site", "tich-son", "--module", "nope"], "unknown SNMP module 'nope' (known: host, if_mib, system)"),
        (["--site", "tich-son", "--snmp-version", "v1"], "unknown SNMP version 'v1'"),
    ],
)
def test_poll_refuses_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    done = hatang("monitor", "poll", *args, state=tmp_path, extra=DUMMY_V3)
    assert done.returncode == 2 and message in done.stderr


def test_serve_refuses_a_bad_listen_address(tmp_path: Path) -> None:
    done = hatang("monitor", "serve", "--listen", "nonsense", state=tmp_path, extra=DUMMY_V3)
    assert done.returncode == 2 and "--listen must be HOST:PORT" in done.stderr


def test_config_unknown_lab_size(tmp_path: Path) -> None:
    done = hatang("monitor", "config", "-o", str(tmp_path / "out"), "--lab-size", "huge", state=tmp_path)
    assert done.returncode == 2 and "unknown lab size 'huge'" in done.stderr
    assert not (tmp_path / "out").exists()  # nothing half-written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "127.0.0.1:99999"], "--listen port 99999 is out of range (0-65535)"),
        (["--snmp-version", "v9"], "unknown SNMP version 'v9'"),
        (["--allow-target", "not-a-network"], "--allow-target 'not-a-network' is not a network"),
        (["--env", "production", "--snmp-version", "v2c"], "in production it is served only with --allow-v2c"),
    ],
)
def test_serve_refuses_bad_options_before_listening(tmp_path: Path, args: list[str], message: str) -> None:
    done = hatang("monitor", "serve", "--listen", "127.0.0.1:0", *args, state=tmp_path, extra={**DUMMY_V3, "HATANG_SECRET_SNMP_COMMUNITY_COMMUNITY": "c"})
    assert done.returncode == 2 and message in done.stderr
    assert "listening" not in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_ctrl_c_during_a_scrape_exits_cleanly(tmp_path: Path) -> None:
    """SIGINT while a scrape waits on a silent agent: the scrape's connection closes, the
    exporter says it stopped and exits 0, without a traceback."""
    import signal
    import threading
    import urllib.request

    from hatang.lab.hostile_agent import hostile_agent
    from mon_agent import free_tcp_port

    port = free_tcp_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HATANG_SECRET_")}
    env.update(HATANG_STATE_DIR=str(tmp_path), HATANG_SECRET_SNMP_COMMUNITY_COMMUNITY="hostile")
    with hostile_agent("silent") as agent:
        server = subprocess.Popen([*HATANG, "monitor", "serve", "--listen", f"127.0.0.1:{port}", "--snmp-version", "v2c", "--timeout", "5",
                                   "--allow-target", "127.0.0.1/32"], stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert server.stderr is not None
            first = server.stderr.readline()
            assert "listening" in first, first
            closed: list[OSError] = []

            def wait_for_scrape() -> None:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/snmp?target={agent.address}&module=system", timeout=30)
                except OSError as exc:  # RemoteDisconnected: closed without an answer
                    closed.append(exc)

            scrape = threading.Thread(target=wait_for_scrape, daemon=True)
            scrape.start()
            while agent.requests == 0:
                threading.Event().wait(0.02)
            server.send_signal(signal.SIGINT)
            rest = server.communicate(timeout=30)[1]
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        scrape.join(30)
    assert server.returncode == 0, rest
    assert len(closed) == 1
    assert "stopped" in rest and "Traceback" not in rest, rest


def test_config_into_an_uncreatable_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    done = hatang("monitor", "config", "-o", str(tmp_path / "a-file" / "out"), "--no-check", state=tmp_path)
    assert done.returncode == 2 and "cannot create the output directory" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("step", ["0s", "0m0s"])
def test_sla_report_refuses_a_zero_step(tmp_path: Path, step: str) -> None:
    """Refused before Prometheus is asked (nothing listens at the URL given)."""
    done = hatang("sla", "report", "--from", "2026-01-01", "--to", "2026-01-02", "--step", step, "--prometheus", "http://127.0.0.1:9", state=tmp_path)
    assert done.returncode == 2 and f"--step must be a positive duration (e.g. 30s), got '{step}'" in done.stderr


def test_production_serves_v2c_only_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    from hatang.monitoring.serve import resolve_auths

    for name, value in {**DUMMY_V3, "HATANG_SECRET_SNMP_COMMUNITY_COMMUNITY": "c0mmunity"}.items():
        monkeypatch.setenv(name, value)
    assert set(resolve_auths("production", "v3")) == {"v3"}
    assert set(resolve_auths("production", "v3", allow_v2c=True)) == {"v3", "v2c"}
    assert set(resolve_auths("lab", "v3")) == {"v3", "v2c"}
