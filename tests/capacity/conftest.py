"""Fixtures for the capacity tests: a small cluster whose figures are worked out by hand,
and a way to run ``hatang`` in-process as a user would (message on stderr, exit code)."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from hatang.inventory import model as m


def node(name: str, cores: int, ram: int, osd_gb: int, purchased: int | None = None) -> m.Node:
    return m.Node(name=name, cores=cores, ram_gib=ram, purchased=purchased, disks=(m.Disk(role="osd", kind="ssd", size_gb=osd_gb, count=2),))


def small_cluster(domain: str = "osd") -> m.Cluster:
    """a, b: 16 cores, 128 GiB, 2 × 1000 GB OSD; c: 24 cores, 192 GiB, 2 × 2000 GB OSD.
    One Ceph pool, 3 replicas with OSDs as failure domains (so it survives a host loss
    and the figures below stay raw ÷ 3), near-full 0.8; ``domain="host"`` for Ceph's default."""
    return m.Cluster(
        name="small",
        nodes=(node("a", 16, 128, 1000), node("b", 16, 128, 1000), node("c", 24, 192, 2000)),
        storage=(m.Storage(name="ceph", type="rbd", replicas=3, failure_domain=domain, near_full_ratio=0.8),),
    )


def vm(name: str, cls: str, cores: int, ram_gib: int, disk_gb: int, ha: bool = True) -> m.Vm:
    spec = m.VmSpec(name=name, cores=cores, memory_mib=ram_gib * 1024, disks=(m.VmDisk(storage="ceph", size_gb=disk_gb),), nics=(m.VmNic(vlan=110),), ha=ha)
    return m.Vm(name=name, service="svc", service_class=cls, cluster="small", spec=spec)


def small_vms() -> list[m.Vm]:
    """critical 2 × (8 vCPU, 32 GiB); standard 3 × (8 vCPU, 16 GiB); batch 1 × (16 vCPU, 64 GiB, not HA)."""
    return [
        vm("crit-1", "critical", 8, 32, 100),
        vm("crit-2", "critical", 8, 32, 100),
        *(vm(f"std-{i}", "standard", 8, 16, 50) for i in (1, 2, 3)),
        vm("batch-1", "batch", 16, 64, 200, ha=False),
    ]


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def hatang(capsys, monkeypatch):
    """Run ``hatang ARGS`` through its real entry point; return exit code, stdout, stderr."""
    from hatang.cli import main

    def run(*args: str) -> Run:
        monkeypatch.setattr(sys, "argv", ["hatang", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
