"""The address plan's file form to the letter: each refusal's message and the key it
names, the bounds of a block, the header and keys written back, the previous version
kept on save, and the purposes' descriptions (they are what a missing supernet says)."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
import yaml

from hatang.errors import InventoryError
from hatang.inventory.addressing import PURPOSES, AddressPlan, AllocationError, ipv4_network, overlapping, plan_from_dict


def supernets(**changes: object) -> dict:
    """A valid set of supernets (198.18.<i>.0/24 each, hosts inside the dc one), changed."""
    specs: dict = {p: {"prefix": f"198.18.{i}.0/24", "block": 32 if p in ("loopback", "mgmt", "hosts") else 28} for i, p in enumerate(PURPOSES)}
    specs["hosts"]["prefix"] = "198.18.4.0/24"
    specs.update(changes)
    return specs


def errors(doc: object) -> list[str]:
    with pytest.raises(InventoryError) as refused:
        plan_from_dict(doc)
    assert refused.value.message == "invalid address plan"
    return refused.value.details


def test_every_purpose_says_what_it_is_for_when_missing() -> None:
    assert errors({}) == [
        "supernets.loopback: missing (router loopbacks (/32 each))",
        "supernets.p2p: missing (point-to-point WAN links (/31 each))",
        "supernets.lan: missing (site LANs of communes and districts)",
        "supernets.mgmt: missing (the management network (one address per device, on one shared subnet))",
        "supernets.dc: missing (data-center VLANs (one prefix per VLAN))",
        "supernets.hosts: missing (server addresses inside their VLAN's prefix)",
    ]


def test_what_is_not_a_mapping_is_named_once() -> None:
    assert errors([]) == [": must be a mapping", *(f"supernets.{p}: missing ({d})" for p, d in PURPOSES.items())]
    assert errors({"supernets": ["198.18.0.0/16"]}) == ["supernets: must be a mapping"]
    assert errors({"supernets": supernets(), "allocations": ["x"]}) == ["allocations: must be a mapping"]
    assert errors({"supernets": supernets(), "allocations": {"lan": "x"}}) == ["allocations.lan: must be a mapping"]


@pytest.mark.parametrize(("spec", "message"), [
    ("198.18.0.0/24", "supernets.lan: must be a mapping (prefix, block, reserved)"),
    ({"prefix": "198.18.2.0/24", "block": 28, "reserved": "198.18.2.0/28"}, "supernets.lan.reserved: must be a list of prefixes"),
    ({"prefix": "198.18.2.0/24", "block": 33}, "supernets.lan.block: must be a prefix length (0-32), not 33"),
    ({"prefix": "198.18.2.0/24", "block": -1}, "supernets.lan.block: must be a prefix length (0-32), not -1"),
    ({"prefix": "198.18.2.0/24", "block": "28"}, "supernets.lan.block: must be a prefix length (0-32), not '28'"),
    ({"prefix": "198.18.2.0/24", "block": True}, "supernets.lan.block: must be a prefix length (0-32), not True"),
    ({"prefix": "198.18.2.0/24"}, "supernets.lan.block: must be a prefix length (0-32), not None"),
    ({"prefix": 5, "block": 28}, "supernets.lan.prefix: 5 is not an IPv4 prefix"),
    ({"prefix": "2001:db8::/32", "block": 28}, "supernets.lan.prefix: '2001:db8::/32' is not an IPv4 prefix"),
    ({"prefix": "198.18.2.0/24", "block": 28, "reserved": ["x"]}, "supernets.lan.reserved: 'x' does not appear to be an IPv4 or IPv6 network"),
])
def test_a_bad_supernet_is_named_by_its_key(spec: object, message: str) -> None:
    assert errors({"supernets": supernets(lan=spec)}) == [message]


def test_a_block_may_be_any_prefix_length_from_0_to_32() -> None:
    for block in (0, 32):
        assert plan_from_dict({"supernets": supernets(lan={"prefix": "198.18.2.0/24", "block": block})}).pool("lan").block == block


def test_reserved_prefixes_are_read() -> None:
    plan = plan_from_dict({"supernets": supernets(lan={"prefix": "198.18.2.0/24", "block": 28, "reserved": ["198.18.2.0/28"]})})
    assert plan.pool("lan").reserved == [IPv4Network("198.18.2.0/28")]
    assert plan.pool("lan").allocate("a") == IPv4Network("198.18.2.16/28")


def test_an_unknown_purpose_does_not_stop_the_ones_after_it() -> None:
    specs = {"vpn": {"prefix": "198.19.9.0/24", "block": 32}, **supernets()}
    assert errors({"supernets": specs, "allocations": {"lan": {"a": "198.18.9.0/28"}}}) == [
        "supernets.vpn: unknown purpose (known: loopback, p2p, lan, mgmt, dc, hosts)",
        "allocations.lan.a: 198.18.9.0/28 for 'a' is outside the lan supernet 198.18.2.0/24",
    ]


def test_hosts_may_overlap_the_data_center_supernet_only() -> None:
    """Hosts' /32s are carved out of the data-center VLANs; any other overlap is refused."""
    plan = plan_from_dict({"supernets": supernets(hosts={"prefix": supernets()["dc"]["prefix"], "block": 32})})
    assert plan.pool("hosts").supernet == plan.pool("dc").supernet
    for other in ("lan", "p2p"):
        prefix = supernets()[other]["prefix"]
        with pytest.raises(InventoryError) as refused:
            plan_from_dict({"supernets": supernets(hosts={"prefix": prefix, "block": 32}, dc={"prefix": "198.18.5.0/24", "block": 28})})
        assert any(f"overlaps {other} {prefix}" in d or f"{other}: {prefix} overlaps" in d for d in refused.value.details), refused.value.details


@pytest.mark.parametrize(("value", "message"), [
    (5, "gateway: must be an IPv4 address, not int"),
    ("198.19.0.300", "gateway: Octet 300 (> 255) not permitted in '198.19.0.300'"),
])
def test_a_bad_gateway_is_named(value: object, message: str) -> None:
    assert errors({"supernets": supernets(), "gateway": value}) == [message]


def test_ipv4_network_refuses_other_than_ipv4_text() -> None:
    for value, message in ((5, "5 is not an IPv4 prefix"), ("2001:db8::/32", "'2001:db8::/32' is not an IPv4 prefix")):
        with pytest.raises(ValueError) as refused:
            ipv4_network(value)
        assert str(refused.value) == message


def test_a_full_vlan_is_reported_as_the_hosts_pool() -> None:
    plan = plan_from_dict({"supernets": supernets()})
    vlan = IPv4Network("198.18.4.0/30")  # network, gateway .1, broadcast: only .2 is free
    assert plan.allocate_host("a", vlan) == IPv4Network("198.18.4.2/32")
    with pytest.raises(AllocationError, match=r"^hosts: the supernet 198.18.4.0/30 is full \(no free /32 for 'b'\)$"):
        plan.allocate_host("b", vlan)


def test_the_file_form_keeps_environment_reserved_and_header(tmp_path) -> None:
    plan = plan_from_dict({"environment": "thử-nghiệm", "supernets": supernets(lan={"prefix": "198.18.2.0/24", "block": 28, "reserved": ["198.18.2.0/28"]})})
    text = plan.to_yaml()
    assert text.startswith("# Address plan of the 'thử-nghiệm' environment.\n"
                           "# Allocations are persisted: hatang only appends to them and never renumbers.\n")
    assert "environment: thử-nghiệm\n" in text  # written as read, not escaped
    again = plan_from_dict(yaml.safe_load(text))
    assert again.environment == "thử-nghiệm" and again.pool("lan").reserved == [IPv4Network("198.18.2.0/28")]


def test_save_keeps_the_previous_version_beside_the_plan(tmp_path) -> None:
    target = tmp_path / "lab.yaml"
    plan = plan_from_dict({"environment": "lab", "supernets": supernets()}, path=target)
    assert plan.save() is None  # the first save: nothing to keep
    first = target.read_text(encoding="utf-8")
    plan.pool("lan").allocate("a")
    previous = plan.save()
    assert previous == tmp_path / "lab.yaml.previous" and previous.read_text(encoding="utf-8") == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.yaml", "lab.yaml.previous"]
    bare = AddressPlan("lab", {})  # made in code: no file, no management gateway until given
    assert bare.path is None and bare.gateway is None
    with pytest.raises(AllocationError) as refused:
        bare.save()
    assert refused.value.message == "the address plan has no file to save to"


def test_a_plan_without_environment_has_an_empty_one() -> None:
    assert plan_from_dict({"supernets": supernets()}).environment == ""


def test_every_bad_allocation_is_reported_not_only_the_first() -> None:
    lan = supernets(lan={"prefix": "198.18.2.0/24", "block": 28, "reserved": ["198.18.2.240/28"]})
    allocations = {"lan": {
        "bad\u0007owner": "198.18.2.0/28",
        "far": "198.18.9.0/28",
        "on-reserved": "198.18.2.240/29",
        "worse": "not-a-prefix",
        "ok": "198.18.2.16/28",
        "twin": "198.18.2.16/28",
    }}
    assert errors({"supernets": lan, "allocations": allocations}) == [
        "allocations.lan: owner 'bad\\x07owner': control character U+0007 at position 4 is not allowed",
        "allocations.lan.far: 198.18.9.0/28 for 'far' is outside the lan supernet 198.18.2.0/24",
        "allocations.lan.on-reserved: 198.18.2.240/29 for 'on-reserved' overlaps the reserved 198.18.2.240/28",
        "allocations.lan.worse: 'not-a-prefix' does not appear to be an IPv4 or IPv6 network",
        "allocations.lan.twin: 198.18.2.16/28 for 'twin' overlaps 198.18.2.16/28 of 'ok'",
    ]


def test_overlaps_are_owned_by_the_widest_open_prefix() -> None:
    wide, tail, inner = IPv4Network("198.18.0.0/24"), IPv4Network("198.18.0.240/28"), IPv4Network("198.18.0.248/29")
    assert overlapping([("small", IPv4Network("198.18.0.0/28")), ("big", wide)]) == [("big", "small")]  # the wider first at one address
    assert overlapping([("big", wide), ("tail", tail), ("inner", inner)]) == [("big", "tail"), ("big", "inner")]  # tail ends with big
