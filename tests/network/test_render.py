"""Rendering: golden files for every platform and role, determinism, lint, secrets."""

from __future__ import annotations

import os
from ipaddress import ip_network
from pathlib import Path

import pytest

from hatang.inventory import load
from hatang.inventory.model import Platform
from hatang.network.intent import IntentBuilder
from hatang.network.lint import lint
from hatang.network.render import Renderer

GOLDEN = Path(__file__).parent / "golden"
#: One device per role; each rendered for every platform.
DEVICES = {"core": "core-iic", "district": "dr-vinh-yen", "commune_cpe": "cpe-tich-son"}
CASES = [(env, platform, role) for env, platforms in (("lab", ("frr",)), ("production", ("ios", "eos", "junos"))) for platform in platforms for role in DEVICES]


@pytest.fixture(scope="module")
def inventories():
    return {env: load(env=env) for env in ("lab", "production")}


@pytest.mark.parametrize(("env", "platform", "role"), CASES)
def test_golden(inventories, fake_secrets, env: str, platform: str, role: str) -> None:
    rendered = Renderer(inventories[env]).render(DEVICES[role], Platform(platform))
    path = GOLDEN / f"{platform}-{role}.{'conf' if platform in ('frr', 'junos') else 'cfg'}"
    if os.environ.get("HATANG_UPDATE_GOLDEN"):
        path.write_text(rendered.text, encoding="utf-8")
    assert rendered.role == role
    assert rendered.text == path.read_text(encoding="utf-8"), f"{path.name} differs: re-render with HATANG_UPDATE_GOLDEN=1 and review the diff"


@pytest.mark.parametrize("env", ["lab", "production"])
def test_every_router_renders_deterministically_and_lints_clean(inventories, fake_secrets, env: str) -> None:
    inv = inventories[env]
    names = [d.name for d in inv.routers()]
    first = Renderer(inv).render_many(names)
    second = Renderer(inv).render_many(names)
    assert [r.text for r in first] == [r.text for r in second]
    assert len(first) == len(inv.routers()) > 100
    for item in first:
        assert lint(item.platform, item.text) == [], item.device


def test_no_clear_text_password_in_any_config(inventories, fake_secrets) -> None:
    for env, inv in inventories.items():
        for item in Renderer(inv).render_many(d.name for d in inv.routers()[:12]):
            assert "golden-admin-password" not in item.text
            assert "golden-readonly-password" not in item.text


def test_community_only_in_the_lab(inventories, fake_secrets) -> None:
    lab = Renderer(inventories["lab"]).render("cpe-tich-son", Platform.ios).text
    production = Renderer(inventories["production"]).render("cpe-tich-son").text
    assert "snmp-server community golden-community RO MGMT-ONLY" in lab
    assert "golden-community" not in production
    assert "snmp-server user hatang-mon HATANG-RO v3 auth sha golden-auth-key priv aes 128 golden-priv-key" in production


def test_ospf_design(inventories, fake_secrets) -> None:
    """Area 0 core–districts, one area per district (its GSO code), totally stubby,
    management never in OSPF."""
    inv = inventories["lab"]
    builder = IntentBuilder(inv)
    core, district, commune = (builder.build(DEVICES[r]) for r in ("core", "district", "commune_cpe"))
    assert core["ospf"]["areas"] == ["0.0.0.0"] and core["ospf"]["stub_areas"] == []
    assert district["ospf"]["areas"] == ["0.0.0.0", "0.0.0.243"]
    assert district["ospf"]["stub_areas"] == [{"id": "0.0.0.243", "no_summary": True}]
    assert commune["ospf"]["stub_areas"] == [{"id": "0.0.0.243", "no_summary": False}]
    assert {i["kind"]: i["area"] for i in district["interfaces"]} == {"uplink": "0.0.0.0", "lan": "0.0.0.0", "downlink": "0.0.0.243"}
    assert all(i["point_to_point"] and ip_network(i["network"]).prefixlen == 31 for i in commune["interfaces"] if i["kind"] != "lan")
    assert [i["passive"] for i in commune["interfaces"]] == [False, True]
    mgmt = ip_network(inv.plan.pool("mgmt").supernet)
    for item in Renderer(inv).render_many(DEVICES.values()):
        networks = [line.split()[1] for line in item.text.splitlines() if line.startswith(" network ")]
        assert networks and not any(ip_network(n).overlaps(mgmt) for n in networks)


def test_lint_catches_template_bugs() -> None:
    assert lint("junos", "system {\n    host-name x\n")[:2] == ["line 2: statement without ';': host-name x", "1 '{' never closed"]
    assert "line 1: template left-over: hostname None" in lint("ios", "hostname None\n")
    assert any("MISSING-ACL" in p for p in lint("ios", "line vty 0 4\n access-class MISSING-ACL in\n"))
    assert lint("ios", "interface Gi1\n!\ninterface Gi1\n") == ["interface Gi1 configured 2 times"]


def test_missing_credential_is_named(inventories, monkeypatch, tmp_path) -> None:
    from hatang.errors import CredentialError

    monkeypatch.setenv("HATANG_STATE_DIR", str(tmp_path))
    with pytest.raises(CredentialError, match="credential 'snmp-v3' field 'username'|credential 'net-admin'"):
        Renderer(inventories["production"]).render("cpe-tich-son")
