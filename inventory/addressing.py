"""Address plans: a supernet per purpose and the persisted allocations inside it.

Allocations are data, written back to the plan's YAML file, so adding or removing a
site never renumbers another: the allocator only ever hands out the lowest block that
no existing allocation (or reserved address) overlaps, and refuses an explicit block
that would overlap one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_network
from pathlib import Path

import yaml

from hatang.errors import InventoryError
from hatang.inventory.text import refusal

#: The purposes every plan defines, and the block size each hands out.
PURPOSES: dict[str, str] = {
    "loopback": "router loopbacks (/32 each)",
    "p2p": "point-to-point WAN links (/31 each)",
    "lan": "site LANs of communes and districts",
    "mgmt": "the management network (one address per device, on one shared subnet)",
    "dc": "data-center VLANs (one prefix per VLAN)",
    "hosts": "server addresses inside their VLAN's prefix",
}


class AllocationError(InventoryError):
    pass


@dataclass
class Pool:
    """One purpose's supernet and what has been handed out from it."""

    purpose: str
    supernet: IPv4Network
    block: int
    reserved: list[IPv4Network] = field(default_factory=list)
    allocations: dict[str, IPv4Network] = field(default_factory=dict)
    #: The merged province's other areas (former provinces): each its own supernet for
    #: this purpose; ``supernet`` is then the home area's (the IIC's own province).
    areas: dict[str, IPv4Network] = field(default_factory=dict)

    def supernets(self) -> list[IPv4Network]:
        """Every supernet of the pool: the home one, then the areas'."""
        return [self.supernet, *self.areas.values()]

    def contains(self, prefix: IPv4Network) -> bool:
        return any(prefix.subnet_of(s) for s in self.supernets())

    def supernet_of(self, area: str | None) -> IPv4Network:
        """Where ``area``'s allocations go: its own supernet, else the home one."""
        return self.areas.get(area, self.supernet) if area else self.supernet

    def describe(self) -> str:
        return " ".join(str(s) for s in self.supernets())

    def _taken(self) -> list[IPv4Network]:
        return sorted([*self.reserved, *self.allocations.values()], key=lambda n: (int(n.network_address), n.prefixlen))

    def owner_of(self, prefix: IPv4Network) -> str | None:
        for key, taken in self.allocations.items():
            if taken.overlaps(prefix):
                return key
        return None

    def assign(self, key: str, prefix: IPv4Network | str) -> IPv4Network:
        """Record an explicit allocation, refusing one outside the supernet or overlapping another."""
        prefix = ip_network(prefix)
        if not self.contains(prefix):
            raise AllocationError(f"{prefix} for '{key}' is outside the {self.purpose} supernet {self.describe()}")
        if self.allocations.get(key) == prefix:
            return prefix
        for other, taken in self.allocations.items():
            if other != key and taken.overlaps(prefix):
                raise AllocationError(f"{prefix} for '{key}' overlaps {taken} of '{other}'")
        for taken in self.reserved:
            if taken.overlaps(prefix):
                raise AllocationError(f"{prefix} for '{key}' overlaps the reserved {taken}")
        self.allocations[key] = prefix
        return prefix

    def allocate(self, key: str, area: str | None = None) -> IPv4Network:
        """The block already held by ``key``, else the lowest free block of the pool's size
        in ``area``'s supernet (the home one when the pool has no supernet of that area)."""
        if key in self.allocations:
            return self.allocations[key]
        step = 1 << (32 - self.block)
        taken = self._taken()
        supernet = self.supernet_of(area)
        candidate = int(supernet.network_address)
        end = int(supernet.broadcast_address)
        index = 0
        while candidate + step - 1 <= end:
            block = IPv4Network((candidate, self.block))
            # skip past every taken prefix that starts before this block ends
            while index < len(taken) and int(taken[index].broadcast_address) < candidate:
                index += 1
            clash = next((t for t in taken[index:] if t.overlaps(block)), None)
            if clash is None:
                self.allocations[key] = block
                return block
            next_free = int(clash.broadcast_address) + 1
            candidate = max(candidate + step, ((next_free + step - 1) // step) * step)
        raise AllocationError(f"{self.purpose}: the supernet {supernet} is full (no free /{self.block} for '{key}')")

    def release(self, key: str) -> None:
        self.allocations.pop(key, None)

    def free_count(self) -> int:
        used = sum(n.num_addresses for n in self._taken())
        return (sum(s.num_addresses for s in self.supernets()) - used) >> (32 - self.block)


@dataclass
class AddressPlan:
    """An environment's address plan: pools by purpose, plus per-VLAN host pools."""

    environment: str
    pools: dict[str, Pool]
    path: Path | None = None
    gateway: IPv4Address | None = None

    def pool(self, purpose: str) -> Pool:
        try:
            return self.pools[purpose]
        except KeyError:
            raise AllocationError(f"address plan '{self.environment}' has no '{purpose}' supernet") from None

    def host_pool(self, vlan_prefix: IPv4Network) -> Pool:
        """A /32 pool inside one VLAN's prefix (network, gateway .1 and broadcast reserved),
        sharing the plan's ``hosts`` allocations."""
        hosts = self.pool("hosts")
        reserved = [IPv4Network((int(vlan_prefix.network_address) + i, 32)) for i in (0, 1)]
        reserved.append(IPv4Network((vlan_prefix.broadcast_address, 32)))
        inside = {k: v for k, v in hosts.allocations.items() if v.subnet_of(vlan_prefix)}
        return Pool("hosts", vlan_prefix, 32, reserved, inside)

    def allocate_host(self, key: str, vlan_prefix: IPv4Network) -> IPv4Network:
        hosts = self.pool("hosts")
        if key in hosts.allocations:
            return hosts.allocations[key]
        block = self.host_pool(vlan_prefix).allocate(key)
        hosts.allocations[key] = block
        return block

    def to_yaml(self) -> str:
        doc = {
            "environment": self.environment,
            "gateway": str(self.gateway) if self.gateway else None,
            "supernets": {
                p.purpose: {"prefix": str(p.supernet), "block": p.block, "reserved": [str(r) for r in p.reserved],
                            **({"areas": {a: str(n) for a, n in p.areas.items()}} if p.areas else {})}
                for p in self.pools.values()
            },
            "allocations": {
                p.purpose: {k: str(v) for k, v in sorted(p.allocations.items(), key=lambda kv: int(kv[1].network_address))}
                for p in self.pools.values()
            },
        }
        header = (
            f"# Address plan of the '{self.environment}' environment.\n"
            "# Allocations are persisted: hatang only appends to them and never renumbers.\n"
        )
        return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)

    def save(self, path: Path | None = None) -> Path | None:
        """Write the plan atomically (a complete new file renamed over the old one); the
        previous version stays next to it as ``<env>.yaml.previous``, which is returned."""
        target = path or self.path
        if target is None:
            raise AllocationError("the address plan has no file to save to")
        previous = target.with_name(target.name + ".previous") if target.exists() else None
        tmp = target.with_name(f".{target.name}.hatang-new")
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(self.to_yaml())
            handle.flush()
            os.fsync(handle.fileno())
        if previous is not None:
            shutil.copy2(target, previous)
        os.replace(tmp, target)
        return previous


def ipv4_network(value: object) -> IPv4Network:
    """An IPv4 prefix written as text; ValueError otherwise (the plans are IPv4 only)."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an IPv4 prefix")
    prefix = ip_network(value)
    if not isinstance(prefix, IPv4Network):
        raise ValueError(f"{value!r} is not an IPv4 prefix")
    return prefix


def _mapping(value: object, key: str, errors: list[str]) -> dict:
    """``value`` if it is a mapping (None counts as empty); otherwise an error at ``key``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(f"{key}: must be a mapping")
        return {}
    return value


def _pool(purpose: str, spec: object, errors: list[str]) -> Pool | None:
    key = f"supernets.{purpose}"
    if not isinstance(spec, dict):
        errors.append(f"{key}: must be a mapping (prefix, block, reserved)")
        return None
    reserved = spec.get("reserved") or []
    if not isinstance(reserved, list):
        errors.append(f"{key}.reserved: must be a list of prefixes")
        return None
    block = spec.get("block")
    if not isinstance(block, int) or isinstance(block, bool) or not 0 <= block <= 32:
        errors.append(f"{key}.block: must be a prefix length (0-32), not {block!r}")
        return None
    try:
        prefix = ipv4_network(spec.get("prefix"))
    except ValueError as exc:
        errors.append(f"{key}.prefix: {exc}")
        return None
    try:
        pool = Pool(purpose, prefix, block, [ipv4_network(r) for r in reserved])
    except ValueError as exc:
        errors.append(f"{key}.reserved: {exc}")
        return None
    for area, text in _mapping(spec.get("areas"), f"{key}.areas", errors).items():
        reason = refusal(str(area))
        if reason:
            errors.append(f"{key}.areas: area {str(area)!r}: {reason}")
            continue
        try:
            pool.areas[str(area)] = ipv4_network(text)
        except ValueError as exc:
            errors.append(f"{key}.areas.{area}: {exc}")
    return pool


def overlapping_supernets(pools: dict[str, Pool]) -> list[str]:
    """Every pair of supernets that overlap, whatever their purpose or area: each
    area's WAN is its own, and no two purposes share addresses. Host addresses are
    carved out of the data-center VLANs, so only ``hosts`` and ``dc`` may overlap."""
    named = [
        (f"supernets.{purpose}" + (f".areas.{area}" if area else ""), purpose, prefix)
        for purpose, pool in sorted(pools.items())
        for area, prefix in [(None, pool.supernet), *pool.areas.items()]
    ]
    errors = []
    for i, (first, first_purpose, first_prefix) in enumerate(named):
        for second, second_purpose, second_prefix in named[i + 1 :]:
            if {first_purpose, second_purpose} == {"hosts", "dc"} or not first_prefix.overlaps(second_prefix):
                continue
            errors.append(f"{second}: {second_prefix} overlaps {first} {first_prefix}")
    return errors


def _gateway(value: object, errors: list[str]) -> IPv4Address | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(f"gateway: must be an IPv4 address, not {type(value).__name__}")
        return None
    try:
        return IPv4Address(value)
    except ValueError as exc:
        errors.append(f"gateway: {exc}")
        return None


def plan_from_dict(doc: object, path: Path | None = None) -> AddressPlan:
    """Build a plan from its YAML document; every error names the key it is about."""
    errors: list[str] = []
    doc = _mapping(doc, "", errors)
    pools: dict[str, Pool] = {}
    supernets = _mapping(doc.get("supernets"), "supernets", errors)
    for purpose in PURPOSES:
        if purpose not in supernets and "supernets: must be a mapping" not in errors:
            errors.append(f"supernets.{purpose}: missing ({PURPOSES[purpose]})")
    for purpose, spec in supernets.items():
        if purpose not in PURPOSES:
            errors.append(f"supernets.{purpose}: unknown purpose (known: {', '.join(PURPOSES)})")
            continue
        pool = _pool(purpose, spec, errors)
        if pool is not None:
            pools[purpose] = pool
    errors.extend(overlapping_supernets(pools))
    for purpose, allocations in _mapping(doc.get("allocations"), "allocations", errors).items():
        pool = pools.get(purpose)
        if pool is None:
            errors.append(f"allocations.{purpose}: no such supernet")
            continue
        errors.extend(_load_allocations(pool, _mapping(allocations, f"allocations.{purpose}", errors)))
    gateway = _gateway(doc.get("gateway"), errors)
    if errors:
        raise InventoryError("invalid address plan", details=errors)
    return AddressPlan(str(doc.get("environment", "")), pools, path, gateway)


def _load_allocations(pool: Pool, allocations: dict) -> list[str]:
    """Load a pool's persisted allocations, checking them in one sorted sweep (not pairwise,
    so a national plan loads in O(n log n)). Of two overlapping allocations, the one later
    in the file is reported."""
    errors: list[str] = []
    order: dict[str, int] = {}
    for index, (key, text) in enumerate(allocations.items()):
        key = str(key)
        reason = refusal(key)
        if reason:
            errors.append(f"allocations.{pool.purpose}: owner {key!r}: {reason}")
            continue
        try:
            prefix = ipv4_network(text)
        except ValueError as exc:
            errors.append(f"allocations.{pool.purpose}.{key}: {exc}")
            continue
        if not pool.contains(prefix):
            errors.append(f"allocations.{pool.purpose}.{key}: {prefix} for '{key}' is outside the {pool.purpose} supernet {pool.describe()}")
            continue
        reserved = next((r for r in pool.reserved if r.overlaps(prefix)), None)
        if reserved is not None:
            errors.append(f"allocations.{pool.purpose}.{key}: {prefix} for '{key}' overlaps the reserved {reserved}")
            continue
        order[key] = index
        pool.allocations[key] = prefix
    for first, second in overlapping(pool.allocations.items()):
        earlier, later = sorted((first, second), key=order.__getitem__)
        errors.append(
            f"allocations.{pool.purpose}.{later}: {pool.allocations[later]} for '{later}' "
            f"overlaps {pool.allocations[earlier]} of '{earlier}'"
        )
    return errors


def overlapping(prefixes: Iterable[tuple[str, IPv4Network]]) -> list[tuple[str, str]]:
    """Pairs of owners whose prefixes overlap (sorted sweep, O(n log n))."""
    ordered = sorted(prefixes, key=lambda kv: (int(kv[1].network_address), -kv[1].num_addresses))
    clashes: list[tuple[str, str]] = []
    open_owner: tuple[str, IPv4Network] | None = None
    for owner, prefix in ordered:
        if open_owner and int(prefix.network_address) <= int(open_owner[1].broadcast_address):
            clashes.append((open_owner[0], owner))
            if int(prefix.broadcast_address) <= int(open_owner[1].broadcast_address):
                continue
        open_owner = (owner, prefix)
    return clashes
