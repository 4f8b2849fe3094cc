"""The address pools on small hand-made supernets: every refusal with its message, the
host pools inside a VLAN, the plan's file form and its checks."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
import yaml

from hatang.errors import InventoryError
from hatang.inventory.addressing import PURPOSES, AddressPlan, AllocationError, Pool, overlapping, plan_from_dict


def net(text: str) -> IPv4Network:
    return IPv4Network(text)


def test_assign_refuses_outside_overlapping_and_reserved() -> None:
    pool = Pool("lan", net("198.18.0.0/24"), 28, [net("198.18.0.240/28")])
    assert pool.assign("a", "198.18.0.0/28") == net("198.18.0.0/28")
    assert pool.assign("a", "198.18.0.0/28") == net("198.18.0.0/28")  # the same again: nothing to do
    for key, prefix, message in (
        ("b", "198.18.1.0/28", "198.18.1.0/28 for 'b' is outside the lan supernet 198.18.0.0/24"),
        ("b", "198.18.0.0/29", "198.18.0.0/29 for 'b' overlaps 198.18.0.0/28 of 'a'"),
        ("b", "198.18.0.240/29", "198.18.0.240/29 for 'b' overlaps the reserved 198.18.0.240/28"),
    ):
        with pytest.raises(AllocationError, match=f"^{message}$"):
            pool.assign(key, prefix)
    assert pool.assign("a", "198.18.0.16/28") == net("198.18.0.16/28")  # a key may move itself
    assert pool.owner_of(net("198.18.0.16/32")) == "a" and pool.owner_of(net("198.18.0.0/32")) is None


def test_allocate_lowest_free_skips_taken_and_reserved() -> None:
    pool = Pool("p2p", net("198.18.0.0/28"), 31, [net("198.18.0.0/31")], {"x": net("198.18.0.4/30")})
    assert [pool.allocate(k) for k in "abcd"] == [net("198.18.0.2/31"), net("198.18.0.8/31"), net("198.18.0.10/31"), net("198.18.0.12/31")]
    assert pool.allocate("a") == net("198.18.0.2/31")  # held: the same block
    assert pool.free_count() == 1
    pool.allocate("e")
    assert pool.free_count() == 0
    with pytest.raises(AllocationError, match=r"^p2p: the supernet 198.18.0.0/28 is full \(no free /31 for 'f'\)$"):
        pool.allocate("f")
    pool.release("b")
    pool.release("nobody")
    assert pool.allocate("f") == net("198.18.0.8/31") and pool.free_count() == 0


def test_allocate_jumps_past_a_large_taken_block() -> None:
    pool = Pool("lan", net("198.18.0.0/24"), 26, [], {"big": net("198.18.0.0/25"), "mid": net("198.18.0.192/27")})
    assert pool.allocate("a") == net("198.18.0.128/26")
    with pytest.raises(AllocationError):
        pool.allocate("b")  # .192/26 overlaps mid
    assert Pool("lan", net("198.18.0.0/24"), 24).allocate("all") == net("198.18.0.0/24")


def plan() -> AddressPlan:
    doc = {
        "environment": "lab",
        "gateway": "198.19.0.1",
        "supernets": {p: {"prefix": f"198.18.{i}.0/24", "block": 32 if p in ("loopback", "mgmt", "hosts") else 28, "reserved": []} for i, p in enumerate(PURPOSES)},
        "allocations": {"hosts": {"web": "198.18.5.10/32"}},
    }
    doc["supernets"]["hosts"]["prefix"] = "198.18.4.0/23"  # hosts live inside the dc VLAN prefixes
    return plan_from_dict(doc)


def test_host_pools_reserve_network_gateway_and_broadcast() -> None:
    p = plan()
    vlan = net("198.18.4.0/29")
    pool = p.host_pool(vlan)
    assert pool.reserved == [net("198.18.4.0/32"), net("198.18.4.1/32"), net("198.18.4.7/32")] and pool.allocations == {}
    assert [p.allocate_host(k, vlan) for k in ("a", "b", "c", "d", "e")] == [net(f"198.18.4.{i}/32") for i in range(2, 7)]
    assert p.allocate_host("a", vlan) == net("198.18.4.2/32") and p.pool("hosts").allocations["e"] == net("198.18.4.6/32")
    with pytest.raises(AllocationError, match="full"):
        p.allocate_host("f", vlan)
    assert p.host_pool(net("198.18.5.0/24")).allocations == {"web": net("198.18.5.10/32")}
    with pytest.raises(AllocationError, match="^address plan 'lab' has no 'vpn' supernet$"):
        p.pool("vpn")


def test_plan_file_round_trip_and_save(tmp_path) -> None:
    p = plan()
    p.pool("loopback").assign("r1", "198.18.0.5/32")
    p.pool("loopback").allocate("r2")
    text = p.to_yaml()
    assert text.startswith("# Address plan of the 'lab' environment.\n")
    doc = yaml.safe_load(text)
    assert doc["allocations"]["loopback"] == {"r2": "198.18.0.0/32", "r1": "198.18.0.5/32"}  # by address
    again = plan_from_dict(doc)
    assert again.gateway == IPv4Address("198.19.0.1") and again.pool("loopback").allocations == p.pool("loopback").allocations
    with pytest.raises(AllocationError, match="no file to save to"):
        p.save()
    p.save(tmp_path / "lab.yaml")
    assert (tmp_path / "lab.yaml").read_text(encoding="utf-8") == text and not (tmp_path / "lab.tmp").exists()
    assert plan_from_dict({**doc, "gateway": None}).gateway is None


def test_plan_errors_name_their_keys() -> None:
    doc = yaml.safe_load(plan().to_yaml())
    doc["supernets"]["vpn"] = {"prefix": "198.19.9.0/24", "block": 32}
    doc["supernets"]["lan"]["prefix"] = "198.18.0.0/23"  # now overlaps p2p's 198.18.1.0/24
    del doc["supernets"]["mgmt"]
    doc["allocations"]["vpn"] = {"x": "198.19.9.1/32"}
    doc["allocations"]["p2p"] = {"l1": "198.18.1.0/31", "l2": "198.18.1.0/30", "bad": "not-an-address", "out": "198.18.9.0/31"}
    with pytest.raises(InventoryError) as exc:
        plan_from_dict(doc)
    assert exc.value.details == [
        "supernets.mgmt: missing (the management network (one address per device, on one shared subnet))",
        "supernets.vpn: unknown purpose (known: loopback, p2p, lan, mgmt, dc, hosts)",
        "supernets.loopback: 198.18.0.0/24 overlaps supernets.lan 198.18.0.0/23",
        "supernets.p2p: 198.18.1.0/24 overlaps supernets.lan 198.18.0.0/23",
        "allocations.p2p.bad: 'not-an-address' does not appear to be an IPv4 or IPv6 network",
        "allocations.p2p.out: 198.18.9.0/31 for 'out' is outside the p2p supernet 198.18.1.0/24",
        "allocations.p2p.l2: 198.18.1.0/30 for 'l2' overlaps 198.18.1.0/31 of 'l1'",
        "allocations.mgmt: no such supernet",
        "allocations.vpn: no such supernet",
    ]


def test_overlapping_sweep() -> None:
    pairs = [("a", net("198.18.0.0/24")), ("b", net("198.18.0.16/28")), ("c", net("198.18.0.32/28")), ("d", net("198.18.1.0/24")), ("e", net("198.18.1.255/32"))]
    assert overlapping(pairs) == [("a", "b"), ("a", "c"), ("d", "e")]
    assert overlapping([("x", net("198.18.0.0/31")), ("y", net("198.18.0.2/31"))]) == []
