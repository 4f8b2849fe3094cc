"""What the running cluster allocates, read through the cloud room's Proxmox client.

Every guest counts, hatang's or not (a VM made by hand takes RAM all the same); its
class is the inventory's where the name is known, else ``standard``. Cores, memory and
HA come from ``/cluster/resources`` (with the token's permissions and the HA lists: 4
calls); disks from each guest's config, one call per guest, every volume with its
storage and ``size`` (PVE's ``G`` is the inventory's ``size_gb`` unit, as the cloud
room writes them).
CD-ROM drives are not disks; detached (``unused``) volumes still fill their storage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hatang.cloud.capacity.model import Allocation, Demand
from hatang.inventory import model as m
from hatang.inventory.inventory import Inventory

DISK_KEY = re.compile(r"^(scsi|virtio|sata|ide|efidisk|tpmstate|rootfs|mp|unused)\d*$")
SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)$")
TO_G = {"K": 1 / 1024**2, "M": 1 / 1024, "G": 1.0, "T": 1024.0, "": 1 / 1024**3}
DEFAULT_CLASS = "standard"


def volume(key: str, value: str) -> tuple[str, float] | None:
    """``(storage, size in G)`` of a config entry that is a disk, else None."""
    if not DISK_KEY.match(key):
        return None
    first, *options = str(value).split(",")
    opts = dict(o.split("=", 1) for o in options if "=" in o)
    if opts.get("media") == "cdrom" or ":" not in first:
        return None
    match = SIZE.match(opts.get("size", "0"))
    size = float(match.group(1)) * TO_G[match.group(2)] if match else 0.0
    return first.split(":", 1)[0], size


def allocation_from_guests(guests: list[tuple[Any, dict[str, Any]]], known: Mapping[str, m.Vm]) -> Allocation:
    """The allocation of ``(guest, config)`` pairs (guests as :mod:`hatang.cloud.observed`
    reads them); ``known`` gives the class and storage sizing of the inventory's VMs."""
    total = Demand()
    ha = 0
    unknown = []
    for guest, config in guests:
        vm = known.get(guest.name)
        if vm is None:
            unknown.append(guest.name or str(guest.vmid))
        cls = vm.service_class if vm else DEFAULT_CLASS
        disks: dict[str, float] = {}
        for key, value in config.items():
            found = volume(key, value)
            if found:
                disks[found[0]] = disks.get(found[0], 0.0) + found[1]
        ha += guest.hastate is not None
        total = total + Demand.of_guests({cls: guest.cores}, guest.memory_mib / 1024, disks, vm.sizing if vm else m.storage_sizing(cls, None))
    return Allocation("live", len(guests), ha, total, tuple(sorted(unknown)))


def live_allocation(inv: Inventory, cluster: str) -> Allocation:
    """Read ``cluster``'s guests and their disks from its Proxmox API."""
    from hatang.cloud.client import Pve
    from hatang.cloud.observed import read_cluster

    pve = Pve.open(inv, cluster)
    view = read_cluster(pve, wanted_names=set(), ct_template_storage=None)
    guests = [(g, pve.get(f"{g.path}/config")) for g in view.guests if not g.template]
    return allocation_from_guests(guests, {vm.name: vm for vm in inv.vms() if vm.cluster == cluster})
