"""``hatang site add`` on a copy of the inventory: records, next free port, addresses
in both plans without renumbering, clear refusals; and CLI errors naming what is wrong."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from hatang.errors import HatangError
from hatang.inventory import load
from hatang.network.render import routers_of
from hatang.network.sites import add_commune, append_to_list, plan_commune
from hatang.paths import DEFAULT_INVENTORY

HATANG = [sys.executable, "-m", "hatang.cli"]


@pytest.fixture
def copy(tmp_path):
    target = tmp_path / "inventory"
    shutil.copytree(DEFAULT_INVENTORY, target)
    return target


def test_add_commune_keeps_everything_else(copy) -> None:
    before = {env: load(copy, env) for env in ("lab", "production")}
    headers = {name: (copy / name).read_text().splitlines()[:4] for name in ("province.yaml", "network.yaml")}
    addition = add_commune(copy, district="vinh-yen", code="08799", name="Hợp Thịnh Mới")
    assert addition.device["name"] == "cpe-hop-thinh-moi" and addition.device["platform"] == "ios"
    used = {e.port for _, link in before["lab"].links for e in (link.a, link.b) if e.device == "dr-vinh-yen"} | {1}
    assert addition.link["a"] == {"device": "dr-vinh-yen", "port": min(set(range(64)) - used)}
    for env, old in before.items():
        new = load(copy, env)
        assert new.commune_by_code["08799"].district == "243"
        for purpose, pool in old.plan.pools.items():
            assert all(new.plan.pool(purpose).allocations[k] == v for k, v in pool.allocations.items()), purpose
        assert {p for p, _, _ in addition.allocations[env]} == {"mgmt", "loopback", "lan", "p2p"}
        assert new.uplink("cpe-hop-thinh-moi").peer == "dr-vinh-yen"
    for name, lines in headers.items():
        assert (copy / name).read_text().splitlines()[:4] == lines  # comments kept


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"district": "243", "code": "08707", "name": "X"}, "commune 08707 already exists: Tích Sơn"),
        ({"district": "999", "code": "08799", "name": "X"}, "unknown district '999'"),
        ({"district": "243", "code": "8799", "name": "X"}, "must be 5 digits"),
        ({"district": "243", "code": "08799", "name": "Tích Sơn"}, "already has a commune named 'Tích Sơn'"),
        ({"district": "243", "code": "08799", "name": "Tân\nip route 0.0.0.0 0.0.0.0 198.18.0.9"}, "control character U\\+000A"),
        ({"district": "243", "code": "08799", "name": "Tân \u202eLập"}, "invisible format character .bidi or zero-width. U\\+202E"),
    ],
)
def test_refusals_write_nothing(copy, kwargs, message) -> None:
    before = {p.name: p.read_bytes() for p in copy.rglob("*.yaml")}
    with pytest.raises(HatangError, match=message):
        add_commune(copy, **kwargs)
    assert {p.name: p.read_bytes() for p in copy.rglob("*.yaml")} == before


def test_append_keeps_the_rest_byte_for_byte() -> None:
    text = "# head\nitems:\n- a: 1\n# between\nother:\n- b: 2\n"
    assert append_to_list(text, "items", {"a": 2}) == "# head\nitems:\n- a: 1\n- a: 2\n# between\nother:\n- b: 2\n"


def test_plan_only_reads(copy) -> None:
    inv = load(copy, "production")
    plan_commune(inv, district="243", code="08798", name="Thử")
    assert "08798" not in load(copy, "production").commune_by_code


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["net", "render", "--site", "nowhere"], "unknown site 'nowhere'"),
        (["net", "push"], "--site SITE"),
        (["net", "render", "--platform", "vyos", "--site", "cpe-tich-son"], "unknown platform 'vyos'"),
    ],
)
def test_cli_errors_name_what_is_wrong(args, message, fake_secrets) -> None:
    proc = subprocess.run([*HATANG, *args], capture_output=True, text=True)
    assert proc.returncode != 0 and message in proc.stderr and "Traceback" not in proc.stderr


def test_repeated_site_selects_every_site_named_once(fake_secrets) -> None:
    """``-s A -s B`` acts on both sites' routers (click keeps only the last value of a
    single-valued option), each router once, in the order named."""
    proc = subprocess.run([*HATANG, "net", "render", "--json", "-s", "cpe-tich-son", "-s", "vinh-yen", "-s", "cpe-tich-son"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    devices = [d["device"] for d in json.loads(proc.stdout)["devices"]]
    vinh_yen = routers_of(load(None, "lab"), ["vinh-yen"])
    assert vinh_yen and "cpe-tich-son" not in vinh_yen
    assert devices == ["cpe-tich-son", *vinh_yen]
