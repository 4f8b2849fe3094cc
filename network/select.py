"""Which routers a command acts on: those of the sites named, or all of them (in the lab, all of the
running lab's — a small lab holds only some of the province's routers)."""

from __future__ import annotations

from collections.abc import Sequence

from hatang.errors import HatangError
from hatang.inventory.inventory import Inventory
from hatang.network.render import routers_of


def lab_size() -> str | None:
    """The size of the lab that is up, if one was brought up."""
    try:
        from hatang.lab.context import read_state
    except ImportError:
        return None
    return read_state().get("size")


def select_devices(inv: Inventory, sites: Sequence[str], all_devices: bool, *, required: bool = True) -> list[str]:
    """The routers of ``sites`` (``--site``, repeatable), or every router with ``all_devices``
    (or when none is ``required``)."""
    if sites and all_devices:
        raise HatangError("give either --site or --all, not both")
    if sites:
        return routers_of(inv, sites)
    if all_devices or not required:
        size = lab_size() if inv.env == "lab" else None
        return [d.name for d in (inv.lab_devices(size) if size else inv.routers())]
    raise HatangError("say which routers: --site SITE (a slug, GSO code or device name) or --all")
