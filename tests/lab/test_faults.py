"""Which wire ends the recorded faults hold down (no root needed: pure bookkeeping)."""

from __future__ import annotations

import pytest

from hatang.inventory import load
from hatang.lab.faults import Faults, wires_held_down
from hatang.lab.topology import build


@pytest.fixture(scope="module")
def topo():
    return build(load(None, "lab"), "small")


def test_no_fault_holds_nothing(topo):
    assert wires_held_down(topo, Faults()) == set()


def test_a_cut_link_holds_both_of_its_ends(topo):
    link = topo.link("core-iic", "dr-vinh-yen")
    assert wires_held_down(topo, Faults(links_down=[["core-iic", "dr-vinh-yen"]])) == {link.a.wire, link.b.wire}


def test_a_killed_router_holds_its_ports_and_the_ends_facing_it(topo):
    held = wires_held_down(topo, Faults(killed=["cpe-tich-son"]))
    own = {p.wire for p in topo.router("cpe-tich-son").ports}
    facing = {p.wire for p in topo.router("dr-vinh-yen").ports if p.peer == "cpe-tich-son"}
    assert held == own | facing
    assert not held & {p.wire for p in topo.router("core-iic").ports}


def test_repairing_a_link_of_a_killed_router_keeps_it_down(topo):
    """link-up removes the link's fault, but the dead router still holds its ends."""
    link = topo.link("dr-vinh-yen", "cpe-tich-son")
    held = wires_held_down(topo, Faults(killed=["cpe-tich-son"]))
    assert {link.a.wire, link.b.wire} <= held


def test_faults_of_routers_outside_the_lab_are_ignored(topo):
    assert wires_held_down(topo, Faults(links_down=[["core-iic", "dr-phuc-yen"]], killed=["cpe-nowhere"])) == set()
