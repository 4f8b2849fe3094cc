"""The FRR commit agent's own diff (``prepare``), run for real by sh against a stand-in
vtysh that shows a given running configuration: what the lab tests cannot pin down
line by line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hatang.network.drivers import frr, frr_parse

RUNNING = """\
!
frr version 8.4.4
frr defaults traditional
hostname r1
service integrated-vtysh-config
!
interface eth0
 ip address 198.18.4.3/31
 ip ospf network point-to-point
exit
!
interface eth1
 ip address 198.18.64.65/26
 ip ospf passive
exit
!
router ospf
 ospf router-id 198.18.0.3
 network 198.18.4.2/31 area 0.0.0.243
 area 0.0.0.243 stub
exit
!
end
"""


@pytest.fixture
def agent(tmp_path: Path):
    """``agent(candidate)`` → (exit status, output) of ``agent.sh … prepare`` with
    RUNNING as the router's running configuration."""
    (tmp_path / "agent.sh").write_text(frr.AGENT)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "running").write_text("Building configuration...\n\nCurrent configuration:\n" + RUNNING)
    fake = bin_dir / "vtysh"
    fake.write_text(f'#!/bin/sh\ncase "$*" in *dryrun*) exit 0;; *"show running-config"*) cat {tmp_path}/running;; esac\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    def prepare(candidate: str) -> tuple[int, str]:
        proc = subprocess.run(["sh", str(tmp_path / "agent.sh"), str(tmp_path), "r1", "-", "prepare", "candidate.conf"],
                              input=candidate, capture_output=True, text=True, env=env, timeout=30)
        return proc.returncode, proc.stdout

    return prepare


def test_the_same_configuration_in_another_order_is_no_change(agent) -> None:
    reordered = RUNNING.replace(" area 0.0.0.243 stub\n", "").replace(" ospf router-id 198.18.0.3\n", " ospf router-id 198.18.0.3\n area 0.0.0.243 stub\n")
    reordered = "! a comment the router never shows\nhostname other-name\n" + reordered.replace("frr version 8.4.4\n", "")
    assert reordered != RUNNING
    assert agent(reordered) == (0, "")


def test_day0_lines_are_added_in_the_candidate_order(agent) -> None:
    candidate = RUNNING.replace("router ospf\n", "router ospf\n log-adjacency-changes\n").replace(
        "exit\n!\nrouter", "exit\n!\ninterface lo\n ip address 198.18.0.3/32\nexit\n!\nrouter")
    status, output = agent(candidate)
    assert status == 0
    assert output == "\nLines To Add\n============\ninterface lo\ninterface lo\n ip address 198.18.0.3/32\nrouter ospf\n log-adjacency-changes\n"


def test_a_line_moved_to_another_context_is_a_delete_and_an_add(agent) -> None:
    moved = RUNNING.replace(" ip address 198.18.64.65/26\n ip ospf passive\n", " ip address 198.18.64.65/26\n").replace(
        " ip ospf network point-to-point\n", " ip ospf network point-to-point\n ip ospf passive\n")
    status, output = agent(moved)
    assert status == 0
    deltas = frr_parse.reload_deltas(output)
    assert deltas == [("-", "interface eth1", " ip ospf passive"), ("+", "interface eth0", " ip ospf passive")]


def test_a_removed_context_is_deleted_with_its_lines(agent) -> None:
    status, output = agent(RUNNING.replace("interface eth1\n ip address 198.18.64.65/26\n ip ospf passive\nexit\n!\n", ""))
    assert status == 0
    assert output.startswith("\nLines To Delete\n===============\nno interface eth1\n")
    assert ("-", "interface eth1", " ip ospf passive") in frr_parse.reload_deltas(output)
