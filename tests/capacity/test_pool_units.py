"""pool_capacity by hand for storage that is not Ceph: node-local storage keeps its
replicas' share of the local disks, shared storage its stated size."""

from __future__ import annotations

import pytest

from hatang.cloud.capacity.storage import pool_capacity
from hatang.inventory import model as m


def node(name: str, local_gb: int) -> m.Node:
    return m.Node(name=name, cores=8, ram_gib=64, disks=(m.Disk(role="local", kind="ssd", size_gb=local_gb),))


def test_local_storage_with_two_replicas_keeps_half() -> None:
    local = m.Storage(name="zfs", type="zfspool", shared=False, replicas=2, near_full_ratio=0.5)
    pool = pool_capacity(local, [node("a", 1000), node("b", 600), node("c", 1)])
    assert (pool.raw_gb, pool.usable_gb, pool.domains, pool.copies) == (1601.0, pytest.approx(1601 / 2 * 0.5), 3, 2)


def test_shared_storage_is_its_stated_size() -> None:
    nfs = m.Storage(name="nfs", type="nfs", raw_gb=1000, replicas=2, near_full_ratio=0.8)
    assert pool_capacity(nfs, [node("a", 1000)]).usable_gb == pytest.approx(400)
