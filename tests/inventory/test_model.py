"""The real inventory: the province as the seeds describe it, in both environments."""

from __future__ import annotations

import json
import subprocess
import sys
from ipaddress import IPv4Network

import pytest

from hatang.errors import InventoryError
from hatang.inventory import load
from hatang.inventory import model as m

LAB = IPv4Network("198.18.0.0/15")
RFC1918 = [IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


@pytest.fixture(scope="module")
def lab():
    return load(None, "lab")


@pytest.fixture(scope="module")
def production():
    return load(None, "production")


def test_province_has_its_districts_and_communes(lab) -> None:
    assert lab.province.code == "26" and lab.province.name == "Vĩnh Phúc"
    assert len(lab.districts) == 9
    assert len(lab.communes) == 136  # 137 in 2019, 136 after the 2020 mergers
    assert {d.name for _, d in lab.districts} >= {"Vĩnh Yên", "Phúc Yên", "Tam Đảo", "Sông Lô"}
    assert lab.commune_by_code["08707"].name == "Tích Sơn"
    assert all(c.district in lab.district_by_code for c in lab.commune_by_code.values())


def test_every_commune_has_exactly_one_cpe(lab) -> None:
    cpes = [d for d in lab.device_by_name.values() if d.role == m.Role.commune_cpe]
    assert sorted(d.site for d in cpes) == sorted(c.slug for c in lab.commune_by_code.values())


def test_lab_is_all_frr_inside_the_test_range(lab) -> None:
    for device in lab.device_by_name.values():
        assert lab.platform(device) == m.Platform.frr
        assert lab.mgmt(device.name).ip in LAB
        assert lab.loopback(device.name) in LAB
    for pool in lab.plan.pools.values():
        assert pool.supernet.subnet_of(LAB)


def test_production_uses_real_platforms_and_private_space(production) -> None:
    platforms = {production.platform(d) for d in production.device_by_name.values()}
    assert platforms == {m.Platform.ios, m.Platform.eos, m.Platform.junos}
    assert "fw-iic-edge" in production.device_by_name
    for pool in production.plan.pools.values():
        assert any(pool.supernet.subnet_of(n) for n in RFC1918)


def test_ports_join_both_ends_of_a_link_on_one_slash31(lab) -> None:
    uplink = lab.uplink("cpe-tich-son")
    assert uplink.peer == "dr-vinh-yen" and uplink.name == "eth0"
    downlink = next(p for p in lab.ports("dr-vinh-yen") if p.peer == "cpe-tich-son")
    assert downlink.address.network == uplink.address.network
    assert downlink.address.network.prefixlen == 31
    assert downlink.address.ip != uplink.address.ip
    assert downlink.peer_address == uplink.address


def test_lan_port_carries_the_site_lan(lab) -> None:
    lan = next(p for p in lab.ports("cpe-tich-son") if p.kind == "lan")
    assert lan.address.network == lab.lan("tich-son")
    assert lan.address.ip == lab.lan("tich-son").network_address + 1


@pytest.mark.parametrize(("size", "count"), [("small", 5), ("district", 11), ("province", 146)])
def test_lab_sizes(lab, size: str, count: int) -> None:
    devices = lab.lab_devices(size)
    assert len(devices) == count
    assert devices[0].name == "core-iic"


def test_find_site_by_slug_code_or_device(lab) -> None:
    assert lab.find_site("08707").key == "tich-son"
    assert lab.find_site("cpe-tich-son").key == "tich-son"
    assert lab.find_site("243").kind == "district"
    with pytest.raises(InventoryError, match="unknown site 'atlantis'"):
        lab.find_site("atlantis")


def test_services_expand_to_named_vms_with_addresses(lab) -> None:
    vms = {vm.name: vm for vm in lab.vms()}
    assert {"qlvb-app-01", "qlvb-app-02", "qlvb-app-03", "backup"} <= set(vms)
    hosts = {h.name: h for h in lab.linux_hosts()}
    assert hosts["db-pg-01"].address.network == lab.vlan_prefix(120)
    assert hosts["pve-core-01"].kind == "pve-node"


@pytest.mark.parametrize("env", ["lab", "production"])
def test_validate_cli_reports_counts(env: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hatang.cli", "inventory", "validate", "--env", env, "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and report["districts"] == 9 and report["communes"] == 136
