"""The allocator: never an overlap, never a renumbering, refusals that say why."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hatang.errors import InventoryError
from hatang.inventory import load
from hatang.inventory.addressing import AllocationError, Pool, plan_from_dict
from hatang.inventory.allocate import allocate

SUPERNET = IPv4Network("198.18.64.0/22")

# An operation is (add, key) or (remove, key); keys come from a small alphabet so removes hit.
operations = st.lists(st.tuples(st.sampled_from(["add", "remove"]), st.integers(0, 40)), max_size=120)


@settings(max_examples=200, deadline=None)
@given(ops=operations, block=st.sampled_from([26, 27, 28, 30]))
def test_allocations_never_overlap_and_never_move(ops: list[tuple[str, int]], block: int) -> None:
    pool = Pool("lan", SUPERNET, block, reserved=[IPv4Network("198.18.64.0/28")])
    held: dict[str, IPv4Network] = {}
    for op, n in ops:
        key = f"site-{n}"
        if op == "add":
            try:
                prefix = pool.allocate(key)
            except AllocationError:
                assert pool.free_count() == 0 or key not in held
                continue
            if key in held:
                assert prefix == held[key]  # stable: asking again returns the same block
            held[key] = prefix
        else:
            pool.release(key)
            held.pop(key, None)
        # what is still held never moved, and nothing overlaps anything
        assert {k: pool.allocations[k] for k in held} == held
        blocks = sorted(pool.allocations.values())
        for first, second in zip(blocks, blocks[1:]):
            assert not first.overlaps(second)
        for prefix in blocks:
            assert prefix.subnet_of(SUPERNET) and prefix.prefixlen == block
            assert not prefix.overlaps(pool.reserved[0])


@settings(max_examples=100, deadline=None)
@given(keys=st.lists(st.integers(0, 1000), unique=True, min_size=1, max_size=60))
def test_allocation_is_lowest_free_block(keys: list[int]) -> None:
    pool = Pool("loopback", IPv4Network("198.18.0.0/26"), 32)
    for k in keys:
        pool.allocate(str(k))
    taken = sorted(int(p.network_address) for p in pool.allocations.values())
    assert taken == list(range(int(IPv4Network("198.18.0.0/26").network_address), taken[0] + len(taken)))


def test_explicit_overlap_is_refused_naming_both_owners() -> None:
    pool = Pool("p2p", IPv4Network("198.18.4.0/24"), 31)
    pool.assign("a--b", "198.18.4.0/31")
    with pytest.raises(AllocationError, match=r"198.18.4.0/30 for 'c--d' overlaps 198.18.4.0/31 of 'a--b'"):
        pool.assign("c--d", "198.18.4.0/30")


def test_full_pool_says_so() -> None:
    pool = Pool("loopback", IPv4Network("198.18.0.0/31"), 32)
    pool.allocate("r1")
    pool.allocate("r2")
    with pytest.raises(AllocationError, match="is full"):
        pool.allocate("r3")


def test_plan_refuses_a_lab_supernet_outside_the_test_range(inventory_copy: Path) -> None:
    path = inventory_copy / "addressing" / "lab.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["supernets"]["lan"]["prefix"] = "100.64.0.0/18"
    doc["allocations"]["lan"] = {}
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(InventoryError) as caught:
        load(inventory_copy, "lab")
    assert any("100.64.0.0/18 is outside the lab range 198.18.0.0/15" in d for d in caught.value.details)


def test_adding_a_site_renumbers_nothing(inventory_copy: Path) -> None:
    before = {env: yaml.safe_load((inventory_copy / "addressing" / f"{env}.yaml").read_text())["allocations"] for env in ("lab", "production")}
    province = yaml.safe_load((inventory_copy / "province.yaml").read_text())
    province["communes"].append({"code": "99001", "name": "Xã Thử Nghiệm", "type": "xa", "slug": "thu-nghiem", "district": "243"})
    (inventory_copy / "province.yaml").write_text(yaml.safe_dump(province, allow_unicode=True, sort_keys=False))
    reorg = yaml.safe_load((inventory_copy / "reorganisation.yaml").read_text())
    reorg["communes"].append({"commune": "99001", "pending": "a test site, no 2025 unit yet"})
    (inventory_copy / "reorganisation.yaml").write_text(yaml.safe_dump(reorg, allow_unicode=True, sort_keys=False))
    network = yaml.safe_load((inventory_copy / "network.yaml").read_text())
    network["devices"].append({"name": "cpe-thu-nghiem", "site": "thu-nghiem", "role": "commune_cpe", "platform": "ios", "lan_port": 1})
    network["links"].append({"a": {"device": "dr-vinh-yen", "port": 40}, "b": {"device": "cpe-thu-nghiem", "port": 0}})
    (inventory_copy / "network.yaml").write_text(yaml.safe_dump(network, allow_unicode=True, sort_keys=False))
    for env in ("lab", "production"):
        report = allocate(inventory_copy, env)
        assert {(p, k) for p, k, _ in report.added} == {
            ("mgmt", "cpe-thu-nghiem"), ("loopback", "cpe-thu-nghiem"), ("lan", "thu-nghiem"), ("p2p", "dr-vinh-yen--cpe-thu-nghiem")
        }
        after = yaml.safe_load((inventory_copy / "addressing" / f"{env}.yaml").read_text())["allocations"]
        for purpose, owners in before[env].items():
            for key, prefix in owners.items():
                assert after[purpose][key] == prefix
        load(inventory_copy, env)  # and the result validates
    # a second run allocates nothing more
    assert allocate(inventory_copy, "lab").added == []


def test_plan_round_trips_through_yaml() -> None:
    inv = load(None, "lab")
    again = plan_from_dict(yaml.safe_load(inv.plan.to_yaml()))
    assert {p: pool.allocations for p, pool in again.pools.items()} == {p: pool.allocations for p, pool in inv.plan.pools.items()}
