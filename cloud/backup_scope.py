"""Which guest disks a backup archives: never a disk on a backup store itself.

The backup server's own disk on the NFS backup store (60 TB) would otherwise be copied
into that very store by its class's job, every night. One rule, read by the desired
configs (PVE's per-disk ``backup`` flag: :mod:`hatang.cloud.desired`) and by the capacity
planner's backup growth (:mod:`hatang.cloud.capacity.backup_demand`): a disk is backed up
unless its storage is the target of some backup policy.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from hatang.inventory import model as m


def backup_targets(policies: Iterable[m.BackupPolicy]) -> frozenset[str]:
    """The storages backups are written to."""
    return frozenset(p.storage for p in policies)


def backed_up(storage: str, targets: Collection[str]) -> bool:
    """Whether a disk on ``storage`` goes into its guest's backups."""
    return storage not in targets


def disk_flag(kind: str, storage: str, targets: Collection[str]) -> str:
    """The ``backup`` option a non-boot disk's config string carries: a VM's disks are
    archived unless ``backup=0`` (qemu-server's VZDump/QemuServer.pm), a container's
    mount points only with ``backup=1`` (pve-container's VZDump/LXC.pm); '' when PVE's
    default already says what the rule wants."""
    wanted = backed_up(storage, targets)
    if kind == "lxc":
        return ",backup=1" if wanted else ""
    return "" if wanted else ",backup=0"
