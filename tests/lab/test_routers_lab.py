"""The small lab's routers, probed as the other rooms use them: SSH into vtysh, SNMP, faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor

import paramiko
import pytest
from labprobe import IF_ADMIN, IF_OPER, SYS_NAME, if_index, netmiko, snmp, snmp_args, ssh_run, wait_for
from lab_fixtures import hatang_lab

from hatang.lab import routerd
from hatang.lab.processes import is_alive
from hatang.lab.routers import tcp_open
from hatang.lab.topology import MGMT_BRIDGE

pytestmark = pytest.mark.lab


def mgmt(ctx, name: str) -> str:
    return str(ctx.inventory.mgmt(name).ip)


def test_every_router_lands_the_network_user_in_vtysh(lab_small):
    def session(name: str) -> tuple[str, str, str]:
        with netmiko(mgmt(lab_small, name)) as conn:
            return name, conn.find_prompt(), conn.send_command("show version")

    with ThreadPoolExecutor(8) as pool:
        for name, prompt, version in pool.map(session, lab_small.device_names):
            assert prompt == f"{name}#"
            assert "FRRouting" in version and f"({name})" in version


def test_one_command_over_ssh_runs_in_vtysh(lab_small):
    name = lab_small.device_names[-1]
    status, output = ssh_run(mgmt(lab_small, name), "net-admin", "show running-config")
    assert status == 0 and f"hostname {name}" in output


def test_snmp_v2c_and_v3_answer_with_the_device_name(lab_small):
    for name in lab_small.device_names:
        assert snmp("snmpget", mgmt(lab_small, name), SYS_NAME) == [name]
        assert snmp("snmpget", mgmt(lab_small, name), SYS_NAME, v3=True) == [name]


def test_wrong_snmp_credentials_get_no_answer(lab_small):
    host = mgmt(lab_small, lab_small.device_names[0])
    assert snmp("snmpget", host, SYS_NAME, auth=["-v2c", "-c", "public"], timeout=1) is None
    wrong_key = snmp_args(True)
    wrong_key[wrong_key.index("-X") + 1] = "not-the-key-at-all"
    assert snmp("snmpget", host, SYS_NAME, auth=wrong_key, timeout=1) is None


def test_read_only_user_shows_but_cannot_configure(lab_small):
    host = mgmt(lab_small, "core-iic")
    status, output = ssh_run(host, "net-readonly", "show version")
    assert status == 0 and "FRRouting" in output
    status, output = ssh_run(host, "net-readonly", "configure terminal")
    assert status != 0 and "not allowed" in output


def test_admin_gets_a_shell_inside_the_router(lab_small):
    name = "dr-vinh-yen"
    status, output = ssh_run(mgmt(lab_small, name), "lab-admin", f"hostname; ip -o link show; vtysh -N {name} -c 'show version'")
    assert status == 0, output
    lines = output.splitlines()
    assert lines[0] == name
    assert " eth0@" in output and " mgmt0@" not in output and MGMT_BRIDGE not in output  # in band: no management port
    assert f"({name})" in output


def test_management_is_out_of_band_for_the_core_and_in_band_through_it_for_the_others(lab_small):
    """The core's management address is not in its main table (WAN traffic never reaches
    it); the host reaches every other router only through the core's port on the bridge;
    cutting a commune's uplink makes it unreachable from the host, as in the province."""
    inv = lab_small.inventory
    ns = "ht-core-iic"
    main = subprocess.run(["ip", "-n", ns, "-j", "route", "show", "table", "main"], capture_output=True, text=True, check=True)
    assert str(inv.oob_mgmt("core-iic").ip) not in [r.get("prefsrc") for r in json.loads(main.stdout or "[]")]
    forwarding = subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-n", "net.ipv4.conf.mgmt0.forwarding"], capture_output=True, text=True)
    assert forwarding.stdout.strip() == "0"
    host_routes = json.loads(subprocess.run(["ip", "-j", "route", "show", "dev", MGMT_BRIDGE], capture_output=True, text=True, check=True).stdout)
    via_core = str(inv.inband_router()[1].ip)
    assert {r["dst"]: r.get("gateway") for r in host_routes} == {
        str(inv.mgmt_network()): None, **{str(p): via_core for p in inv.wan_prefixes()}}
    commune, district = "cpe-hoi-hop", "dr-vinh-yen"
    assert tcp_open(mgmt(lab_small, commune), 22, 2.0)
    hatang_lab("fault", "link-down", district, commune)
    try:
        assert wait_for(lambda: tcp_open(mgmt(lab_small, commune), 22, 1.0), False) is False
        assert snmp("snmpget", mgmt(lab_small, commune), SYS_NAME, timeout=1) is None
    finally:
        hatang_lab("fault", "link-up", district, commune)
    assert wait_for(lambda: tcp_open(mgmt(lab_small, commune), 22, 1.0), True) is True


def test_freeze_keeps_links_up_and_leaves_peers_in_silence(lab_small):
    victim, neighbour = "cpe-lien-bao", "dr-vinh-yen"
    port = next(p for p in lab_small.inventory.ports(neighbour) if p.peer == victim)
    nb_index = if_index(mgmt(lab_small, neighbour), port.name)
    hatang_lab("fault", "freeze", victim)
    try:
        assert snmp("snmpget", mgmt(lab_small, neighbour), f"{IF_OPER}.{nb_index}") == ["1"]  # its link stays up
        assert snmp("snmpget", mgmt(lab_small, victim), SYS_NAME, timeout=1) is None
        with pytest.raises((paramiko.SSHException, OSError)):  # the handshake completes in its kernel, then nothing answers
            ssh_run(mgmt(lab_small, victim), "net-admin", "show version", timeout=3)
        frozen = json.loads(hatang_lab("status", "--json").stdout)["components"]["routers"]["items"]
        assert next(i for i in frozen if i["device"] == victim)["power"] == "frozen"
    finally:
        hatang_lab("fault", "restore", victim)
    assert wait_for(lambda: snmp("snmpget", mgmt(lab_small, victim), SYS_NAME), [victim]) == [victim]


def test_link_down_shows_at_the_upper_end_and_cuts_the_lower_ends_management(lab_small):
    """A cut link: the upper end's port loses carrier (a cut, not a shutdown), and the
    lower end, managed in band over that link, stops answering; the repair brings both."""
    a, b = "core-iic", "dr-vinh-yen"
    ends = []
    for me, other in ((a, b), (b, a)):
        port = next(p for p in lab_small.inventory.ports(me) if p.peer == other)
        host = mgmt(lab_small, me)
        ends.append((host, if_index(host, port.name)))

    def oper() -> list[str]:
        return [(snmp("snmpget", host, f"{IF_OPER}.{i}", timeout=1) or ["?"])[0] for host, i in ends]

    assert oper() == ["1", "1"]
    hatang_lab("fault", "link-down", a, b)
    try:
        assert wait_for(oper, ["2", "?"]) == ["2", "?"]
        upper, index = ends[0]
        assert snmp("snmpget", upper, f"{IF_ADMIN}.{index}") == ["1"]  # a cut, not a shutdown
    finally:
        hatang_lab("fault", "link-up", a, b)
    assert wait_for(oper, ["1", "1"], timeout_s=20) == ["1", "1"]


def test_kill_makes_a_device_unreachable_and_restore_brings_it_back(lab_small):
    victim, neighbour = "cpe-tich-son", "dr-vinh-yen"
    host = mgmt(lab_small, victim)
    port = next(p for p in lab_small.inventory.ports(neighbour) if p.peer == victim)
    nb_index = if_index(mgmt(lab_small, neighbour), port.name)
    hatang_lab("fault", "kill", victim)
    try:
        assert snmp("snmpget", host, SYS_NAME, timeout=1) is None
        assert not tcp_open(host, 22, 2.0)
        neighbour_port = wait_for(lambda: snmp("snmpget", mgmt(lab_small, neighbour), f"{IF_OPER}.{nb_index}"), ["2"])
        assert neighbour_port == ["2"]
    finally:
        hatang_lab("fault", "restore", victim)
    assert wait_for(lambda: snmp("snmpget", host, SYS_NAME), [victim]) == [victim]
    assert ssh_run(host, "net-admin", "show version")[0] == 0


def test_faults_on_unknown_devices_or_links_are_refused(lab_small):
    proc = hatang_lab("fault", "kill", "cpe-nowhere", check=False)
    assert proc.returncode != 0 and "cpe-nowhere" in proc.stderr
    proc = hatang_lab("fault", "link-down", "core-iic", "cpe-tich-son", check=False)
    assert proc.returncode != 0 and "no inventory link" in proc.stderr


def test_status_json_shows_every_device_reachable(lab_small):
    report = json.loads(hatang_lab("status", "--json").stdout)
    items = report["components"]["routers"]["items"]
    assert [i["device"] for i in items] == lab_small.device_names
    for item in items:
        assert item["netns"] == f"ht-{item['device']}"
        assert all(item["daemons"].values()), item
        assert item["ping"] and item["ssh"], item


def test_a_second_up_starts_nothing_and_repairs_a_dead_daemon(lab_small):
    before = {n: p for n, p in lab_small.registry.read().items() if n.startswith(routerd.PROCESS_PREFIX)}
    victim = before[routerd.process_name("cpe-lien-bao", "ospfd")]
    os.kill(victim.pid, signal.SIGKILL)
    assert wait_for(lambda: is_alive(victim), False, 5) is False
    hatang_lab("up", "--size", "small")
    after = {n: p for n, p in lab_small.registry.read().items() if n.startswith(routerd.PROCESS_PREFIX)}
    assert after.keys() == before.keys()
    changed = [n for n in after if after[n] != before[n]]
    assert changed == [victim.name]
    assert is_alive(after[victim.name])


def test_secrets_are_private_and_hidden_unless_asked(lab_small):
    from hatang.credentials import lab_secrets_file

    assert lab_secrets_file().stat().st_mode & 0o777 == 0o600
    password = lab_small.secrets["net-admin"]["password"]
    hidden = hatang_lab("secrets", "--json")
    assert password not in hidden.stdout and json.loads(hidden.stdout)["secrets"]["net-admin"]["username"]
    assert password in hatang_lab("secrets", "--show", "--json").stdout


def test_a_lab_of_another_size_is_refused_while_one_is_up(lab_small):
    before = lab_small.registry.read()
    proc = hatang_lab("up", "--size", "district", check=False)
    assert proc.returncode != 0 and "hatang lab down" in proc.stderr and "'small' lab is up" in proc.stderr
    assert lab_small.registry.read() == before
