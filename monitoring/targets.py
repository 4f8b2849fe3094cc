"""Poll targets from the inventory: each device's management address and SNMP credentials.

Credentials are resolved by name through :mod:`hatang.credentials` (``snmp-v3`` for
authPriv, ``snmp-community`` for v2c); nothing here stores a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hatang.credentials import secret
from hatang.errors import HatangError
from hatang.monitoring.snmp import SnmpAuth

SNMP_VERSIONS = ("v3", "v2c")


@dataclass(frozen=True)
class Target:
    """One agent to poll: a name (the device), its address and how to authenticate."""

    name: str
    address: str
    auth: SnmpAuth
    port: int = 161
    labels: tuple[tuple[str, str], ...] = ()


def auth_for(env: str, version: str = "v3") -> SnmpAuth:
    """The SNMP credentials of environment ``env`` for ``version`` (v3 authPriv SHA/AES, or v2c)."""
    if version == "v2c":
        return SnmpAuth("v2c", community=secret("snmp-community", "community", env=env))
    if version == "v3":
        return SnmpAuth(
            "v3",
            username=secret("snmp-v3", "username", env=env),
            auth_key=secret("snmp-v3", "auth_key", env=env),
            priv_key=secret("snmp-v3", "priv_key", env=env),
        )
    raise HatangError(f"unknown SNMP version '{version}' (known: {', '.join(SNMP_VERSIONS)})", exit_code=2)


def device_labels(inv: Any, device: Any) -> tuple[tuple[str, str], ...]:
    site = inv.sites.get(device.site)
    district = inv.district_by_code.get(site.district) if site and site.district else None
    return (
        ("device", device.name),
        ("site", device.site),
        ("district", district.slug if district else ""),
        ("role", device.role.value),
        ("gso_code", (site.code if site else None) or ""),
    )


def device_target(inv: Any, name: str, *, version: str = "v3", auth: SnmpAuth | None = None) -> Target:
    device = inv.device(name)
    return Target(
        name=device.name,
        address=str(inv.mgmt(device.name).ip),
        auth=auth or auth_for(inv.env, version),
        labels=device_labels(inv, device),
    )


def routers_at(inv: Any, query: str) -> list[Any]:
    """The routers at a site; for a district, its own router and every commune's in it."""
    if query in inv.device_by_name:
        return [inv.device(query)]
    site = inv.find_site(query)
    if site.kind != "district":
        return inv.devices_at(query)
    return [d for d in inv.routers() if inv.sites[d.site].district == site.code and inv.sites[d.site].kind in ("district", "commune")]


def inventory_targets(inv: Any, *, site: str | None = None, version: str = "v3", devices: list[str] | None = None) -> list[Target]:
    """Targets for every router (or those at ``site`` — a district means all its routers —
    or the named ``devices``), with one credential lookup."""
    auth = auth_for(inv.env, version)
    if devices is not None:
        names = devices
    elif site:
        names = [d.name for d in routers_at(inv, site)]
    else:
        names = [d.name for d in inv.routers()]
    return [device_target(inv, name, auth=auth) for name in names]
