"""``down`` leaves nothing behind, also after an interrupted ``up``; the lab comes back after.

These tests take the session's lab down and bring it back with the same secrets, so the
other rooms' tests sharing ``lab_small`` find it as they left it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from lab_fixtures import HATANG, hatang_lab
from labprobe import netmiko

from hatang.credentials import lab_secrets_file
from hatang.lab import netbuild, routerd, users
from hatang.lab.context import lab_state_dir
from hatang.lab.processes import Registry, is_alive
from hatang.lab.topology import MGMT_BRIDGE, MGMT_LAN_VETH_PREFIX, MGMT_VETH_PREFIX

pytestmark = pytest.mark.lab


def leftovers(device_names: list[str], recorded: list) -> list[str]:
    """Everything of the lab still on the machine (empty when down was complete)."""
    found = [f"netns {ns}" for ns in netbuild.lab_netns()]
    host_links = netbuild.links()
    found += [f"link {n}" for n in host_links if n == MGMT_BRIDGE or (n[:3] in (MGMT_VETH_PREFIX, MGMT_LAN_VETH_PREFIX) and n[3:].isdigit())]
    found += [f"process {p.name} ({p.pid})" for p in recorded if is_alive(p)]
    found += [f"user {u}" for u in users.present()]
    found += [f"dir {routerd.frr_dir(n)}" for n in device_names if routerd.frr_dir(n).exists()]
    found += [f"dir {routerd.FRR_RUN / n}" for n in device_names if (routerd.FRR_RUN / n).exists()]
    if lab_secrets_file().exists():
        found.append(f"file {lab_secrets_file()}")
    return found


@pytest.fixture
def lab_restored(lab_small):
    """Keep the session's lab secrets; bring the lab back up after the test."""
    secrets = lab_secrets_file().read_bytes()
    yield lab_small
    path = lab_secrets_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(secrets)
    path.chmod(0o600)
    hatang_lab("up", "--size", "small", "--configured")  # as the session's other tests expect it


def test_down_leaves_nothing_behind(lab_restored):
    """Also with a killed router (its frozen processes must die too) and an SSH session open."""
    recorded = list(Registry(lab_state_dir()).read().values())
    assert len(recorded) >= 5 * len(lab_restored.device_names)
    session = netmiko(str(lab_restored.inventory.mgmt("core-iic").ip))
    hatang_lab("fault", "kill", "cpe-lien-bao")
    hatang_lab("down")
    session.disconnect()
    assert leftovers(lab_restored.device_names, recorded) == []
    assert json.loads(hatang_lab("status", "--json").stdout)["up"] is False


def test_an_interrupted_up_is_cleaned_by_down(lab_restored):
    hatang_lab("down")
    registry_file = Registry(lab_state_dir()).path
    up = subprocess.Popen([*HATANG, "lab", "up", "--size", "small"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and up.poll() is None:
        if registry_file.exists() and registry_file.stat().st_size > 2:
            break  # the first daemons are starting
        time.sleep(0.005)
    up.send_signal(signal.SIGKILL)
    assert up.wait() == -signal.SIGKILL, "up finished before it could be interrupted"
    time.sleep(0.5)  # let the daemons it started settle into their namespaces
    assert netbuild.lab_netns(), "the interrupted up had created namespaces"
    recorded = list(Registry(lab_state_dir()).read().values())
    strays = [pid for ns in netbuild.lab_netns() for pid in netbuild.netns_pids(ns)]
    hatang_lab("down")
    assert leftovers(lab_restored.device_names, recorded) == []
    assert [pid for pid in strays if Path(f"/proc/{pid}").exists() and _state(pid) not in ("Z", "X")] == []


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "X"
    return stat[stat.rindex(")") + 2]
