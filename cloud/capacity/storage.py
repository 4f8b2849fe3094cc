"""What a storage pool can hold after losing nodes: its real failure model.

- **Ceph** (``rbd``) keeps every object as ``copies`` pieces in distinct failure domains
  (hosts by default, or single OSDs): ``replicas`` full copies, or, erasure-coded, k+m
  chunks of 1/k of the object each. A domain holds at most one piece of an object, so
  with domain sizes ``c_i`` the most piece-data ``X`` the pool can place satisfies
  ``copies × X ≤ Σ min(c_i, X)``, i.e. ``X = min over j < copies of (Σ of all but the j
  largest domains) ÷ (copies − j)``; equal domains give the familiar raw ÷ copies. The
  data held is ``X`` (replicated) or ``k × X`` (erasure-coded), kept below the near-full
  ratio. After losing nodes, Ceph re-replicates onto the survivors only while at least
  ``copies`` domains are left; otherwise the pool stays degraded and is reported as
  "cannot re-replicate: data at risk", never as a number.
- **Local storage** (not shared) is lost with its node: its guests must be restored on
  the other nodes, so after a loss only the survivors' local disks count.
- **Other shared storage** (NFS) states its own size and does not depend on the nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hatang.inventory import model as m

AT_RISK = "cannot re-replicate: data at risk"


@dataclass(frozen=True)
class PoolCapacity:
    """One pool on a set of nodes: raw disk, usable data, and whether the copies fit."""

    raw_gb: float
    usable_gb: float
    domains: int  # failure domains left (0 for storage that is not on the nodes)
    copies: int  # pieces per object: replicas or k+m
    at_risk: bool = False  # fewer domains than copies: the pool cannot heal


def osd_gb(node: m.Node) -> float:
    return sum(d.size_gb * d.count for d in node.disks if d.role == "osd")


def local_gb(node: m.Node) -> float:
    return sum(d.size_gb * d.count for d in node.disks if d.role == "local")


def node_weight(storage: m.Storage) -> Callable[[m.Node], float] | None:
    """How much of ``storage`` a node carries (None: the storage does not live on nodes)."""
    if storage.type == "rbd":
        return osd_gb
    if not storage.shared:
        return local_gb
    return None


def copies(storage: m.Storage) -> int:
    return storage.erasure.k + storage.erasure.m if storage.erasure else storage.replicas


def spread_gb(domains: Sequence[float], pieces: int) -> float:
    """The most data per piece that ``domains`` can hold with each object's ``pieces``
    in distinct domains (0 when there are fewer domains than pieces)."""
    ordered = sorted(domains, reverse=True)
    return min(sum(ordered[j:]) / (pieces - j) for j in range(pieces))


def failure_domains(storage: m.Storage, nodes: Sequence[m.Node]) -> list[float]:
    """The sizes of the Ceph pool's failure domains on ``nodes``: hosts or single OSDs."""
    if storage.failure_domain == "osd":
        return [float(d.size_gb) for n in nodes for d in n.disks if d.role == "osd" for _ in range(d.count)]
    return [osd_gb(n) for n in nodes if osd_gb(n) > 0]


def pool_capacity(storage: m.Storage, nodes: Sequence[m.Node]) -> PoolCapacity:
    """What ``storage`` offers on ``nodes`` (the cluster's nodes left after a loss)."""
    weight = node_weight(storage)
    if weight is None:
        raw = float(storage.raw_gb or 0)
        return PoolCapacity(raw, raw / storage.replicas * storage.near_full_ratio, 0, storage.replicas)
    raw = float(sum(map(weight, nodes)))
    if storage.type != "rbd":
        return PoolCapacity(raw, raw / storage.replicas * storage.near_full_ratio, len([n for n in nodes if weight(n)]), storage.replicas)
    domains, pieces = failure_domains(storage, nodes), copies(storage)
    if len(domains) < pieces:
        return PoolCapacity(raw, 0.0, len(domains), pieces, at_risk=True)
    per_piece = spread_gb(domains, pieces)
    data = per_piece * storage.erasure.k if storage.erasure else per_piece
    return PoolCapacity(raw, data * storage.near_full_ratio, len(domains), pieces)
