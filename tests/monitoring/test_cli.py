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
