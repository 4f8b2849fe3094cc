"""The lab's wiring, computed from the real inventory (no root needed)."""

from __future__ import annotations

import pytest

from hatang.inventory import load
from hatang.lab.topology import WIRE_NETNS, build


@pytest.fixture(scope="module")
def inv():
    return load(None, "lab")


@pytest.mark.parametrize("size", ["small", "district", "province"])
def test_every_inventory_link_inside_the_lab_is_wired_once(inv, size):
    topo = build(inv, size)
    names = {r.name for r in topo.routers}
    expected = {frozenset((l.a.device, l.b.device)) for l in inv.links_in_env if {l.a.device, l.b.device} <= names}
    assert {frozenset(link.ends) for link in topo.links} == expected
    assert len(topo.links) == len(expected)


def test_province_is_the_whole_inventory(inv):
    topo = build(inv, "province")
    assert [r.name for r in topo.routers] == [d.name for d in inv.routers()]
    assert len(topo.links) == len(topo.routers) - 1  # a tree: core, districts, communes


def test_interface_names_fit_linux_and_are_unique(inv):
    topo = build(inv, "province")
    wires = [p.wire for r in topo.routers for p in r.ports]
    host_side = [n for r in topo.routers for n in (r.mgmt_veth, r.mgmt_lan.wire if r.mgmt_lan else None) if n]
    assert len(set(wires)) == len(wires) and len(set(host_side)) == len(host_side)
    assert max(len(n) for n in [*wires, *host_side, WIRE_NETNS]) <= 15
    for router in topo.routers:
        ifnames = [p.ifname for p in router.ports]
        assert len(set(ifnames)) == len(ifnames) and router.mgmt_ifname not in ifnames


def test_names_do_not_depend_on_the_lab_size(inv):
    small, province = build(inv, "small"), build(inv, "province")
    for router in small.routers:
        assert router.mgmt_veth == province.router(router.name).mgmt_veth
        assert [p.wire for p in router.ports] == [p.wire for p in province.router(router.name).ports]


def test_ports_towards_routers_outside_a_small_lab_lead_nowhere(inv):
    topo = build(inv, "small")
    core = topo.router("core-iic")
    peers = {p.peer for p in core.ports if p.peer}
    assert peers == {"dr-vinh-yen"}
    assert len(core.ports) == len(inv.ports("core-iic")) - 1  # every port exists, wired or not
    assert core.mgmt_lan is not None and core.mgmt_lan.ifname == "eth15"  # ... its port on the management bridge aside


def test_management_addresses_are_in_the_lab_range_and_distinct(inv):
    topo = build(inv, "province")
    addresses = [r.mgmt.ip for r in topo.routers]
    assert len(set(addresses)) == len(addresses)
    assert str(topo.gateway.ip) == "198.19.0.1"
    for router in topo.routers:
        if router.in_band:  # on its loopback, reached through the core
            assert router.mgmt.ip == inv.loopback(router.name) and router.mgmt_veth is None and router.mgmt_ifname == "lo"
            assert any(router.mgmt.ip in prefix for prefix in topo.wan_prefixes)
        else:
            assert router.mgmt.ip in topo.gateway.network and router.mgmt.ip != topo.gateway.ip
    assert [r.name for r in topo.routers if not r.in_band] == ["core-iic"]
    assert topo.inband_via == topo.gateway.ip + 1 and not any(topo.inband_via in p for p in topo.wan_prefixes)
