"""Who a diagnosis looks at: the target device and its neighbours, by role.

The runbook's front matter says ``on: target | uplink | downlinks | core``; this module
turns a target device into those subjects, each with the ports that matter (the
target's WAN ports; a neighbour's port facing the target), so checks stay generic.
"""

from __future__ import annotations

from collections.abc import Collection

from hatang.errors import HatangError
from hatang.inventory import model as m
from hatang.inventory.inventory import Inventory, Port
from hatang.runbooks.catalog import Role
from hatang.runbooks.context import Subject


def targets(inv: Inventory, query: str, present: Collection[str]) -> list[str]:
    """The routers at SITE (a site slug, GSO code or device name) that exist here."""
    devices = [d.name for d in inv.devices_at(query) if d.role != m.Role.firewall]
    running = [d for d in devices if d in present]
    if not devices:
        raise HatangError(f"site '{inv.find_site(query).key}' has no router in the inventory ({inv.env})")
    if not running:
        raise HatangError(
            f"{', '.join(devices)} ({query}) is not part of the running {inv.env}: "
            f"give one of {', '.join(sorted(present))}"
        )
    return running


def core_router(inv: Inventory) -> str | None:
    return next((d.name for d in inv.routers() if d.role == m.Role.core), None)


def _facing(inv: Inventory, device: str, peer: str) -> tuple[Port, ...]:
    return tuple(p for p in inv.ports(device) if p.peer == peer)


def subjects(inv: Inventory, target: str, role: Role, present: Collection[str]) -> list[Subject]:
    """The devices of ``role`` relative to ``target`` that are present, with their ports."""
    if role == "target":
        ports = tuple(p for p in inv.ports(target) if p.peer in present or p.kind == "lan")
        return [Subject("target", target, ports)]
    if role == "uplink":
        up = inv.uplink(target)
        if up is None or up.peer not in present:
            return []
        return [Subject("uplink", up.peer, _facing(inv, up.peer, target))]
    if role == "downlinks":
        return [
            Subject("downlinks", p.peer, _facing(inv, p.peer, target))
            for p in inv.ports(target)
            if p.kind == "downlink" and p.peer in present
        ]
    core = core_router(inv)
    return [Subject("core", core, _facing(inv, core, target))] if core in present else []


def present_devices(inv: Inventory) -> set[str]:
    """The devices diagnostics may talk to: in production every router of the inventory;
    in the lab, the routers of the lab that was brought up (a small lab has five)."""
    if inv.env != "lab":
        return {d.name for d in inv.routers()}
    from hatang.lab.context import read_state

    size = read_state().get("size")
    if not size:
        raise HatangError("the lab is not up: run 'hatang lab up --size small' first (or give --env production)")
    return {d.name for d in inv.lab_devices(size)}
