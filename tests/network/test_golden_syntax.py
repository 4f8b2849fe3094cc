"""The golden production renders (tests/network/golden, kept by test_render.py) read
as the ecosystem's parser reads them: ciscoconfparse's structure of IOS, EOS and FRR
configurations (Huawei VRP's too) and of Junos braces, and every driver prerequisite
configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from ciscoconfparse import CiscoConfParse

from hatang.network import prerequisites

GOLDEN = Path(__file__).parent / "golden"
FILES = sorted(GOLDEN.iterdir())


def parse(path: Path) -> CiscoConfParse:
    platform = path.name.split("-")[0]
    return CiscoConfParse(path.read_text(encoding="utf-8").splitlines(), syntax="junos" if platform == "junos" else "ios",
                          comment="#!" if platform != "junos" else "#")


@pytest.mark.parametrize("path", [p for p in FILES if not p.name.startswith("junos")], ids=lambda p: p.name)
def test_cisco_like_blocks(path: Path) -> None:
    config = parse(path)
    interfaces = config.find_objects(r"^interface ")
    assert interfaces and all(i.children for i in interfaces), path.name
    if path.name.startswith("huawei_vrp"):  # VRP: "ospf 1 router-id X", areas as children holding their networks
        [ospf] = config.find_objects(r"^ospf 1 router-id ")
        areas = [c for c in ospf.children if c.text.strip().startswith("area ")]
        assert areas and all(a.re_search_children(r"network ") for a in areas), path.name
    else:
        ospf = config.find_objects(r"^router ospf")
        assert len(ospf) == 1 and ospf[0].re_search_children(r"router-id"), path.name


@pytest.mark.parametrize("path", [p for p in FILES if p.name.startswith("junos")], ids=lambda p: p.name)
def test_junos_hierarchy(path: Path) -> None:
    config = parse(path)
    assert config.find_objects(r"^\s*netconf"), path.name
    assert config.find_objects(r"^\s*ospf"), path.name


@pytest.mark.parametrize("path", [p for p in FILES if not p.name.startswith("frr")], ids=lambda p: p.name)
def test_every_driver_prerequisite_is_in_the_template(path: Path) -> None:
    platform = path.name.split("-")[0]
    assert prerequisites.missing(platform, path.read_text(encoding="utf-8")) == []
