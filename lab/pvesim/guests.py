"""Guest helpers shared by the routes: disks in config strings, locks, resource entries."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from hatang.lab.pvesim.store import SimError

if TYPE_CHECKING:
    from hatang.lab.pvesim.server import ClusterSim

QEMU_DISK = re.compile(r"^(scsi|virtio|sata|ide)\d+$|^efidisk0$|^tpmstate0$")
LXC_DISK = re.compile(r"^rootfs$|^mp\d+$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)$")
_UNITS = {"": 1024**3, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def label(kind: str) -> str:
    return "CT" if kind == "lxc" else "VM"


def is_disk_key(kind: str, key: str) -> bool:
    return bool((LXC_DISK if kind == "lxc" else QEMU_DISK).match(key))


def parse_size(text: str) -> int:
    """``100G``, ``512M``, ``8`` (GiB) → bytes."""
    match = _SIZE.match(text.strip())
    if not match:
        raise SimError("Parameter verification failed.", 400, {"size": f"unable to parse size '{text}'"})
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def format_size(size: int) -> str:
    return f"{size // 1024**3}G" if size % 1024**3 == 0 else f"{size // 1024**2}M"


def disk_parts(value: str) -> tuple[str, dict[str, str]]:
    """``ceph-vm:vm-100-disk-0,size=10G`` → (volume, {size: 10G})."""
    volume, *options = str(value).split(",")
    return volume, dict(o.split("=", 1) for o in options if "=" in o)


def disk_value(volume: str, options: dict[str, str]) -> str:
    return ",".join([volume, *(f"{k}={v}" for k, v in options.items())])


def disk_size(value: str) -> int:
    volume, options = disk_parts(value)
    if options.get("media") == "cdrom" or volume == "none":
        return 0
    return parse_size(options["size"]) if "size" in options else 0


def allocate_disk(state_data: dict[str, Any], vmid: int, key: str, value: str, used_names: set[str]) -> str:
    """A new-volume request (``ceph-vm:100``: 100 GiB on ceph-vm) as the volume PVE makes."""
    volume, options = disk_parts(value)
    storage, _, amount = volume.partition(":")
    if not re.fullmatch(r"\d+(\.\d+)?", amount):
        return value  # an existing volume, kept as written
    if storage not in state_data["storage"]:
        raise SimError(f"storage '{storage}' does not exist")
    index = 0
    while f"vm-{vmid}-disk-{index}" in used_names:
        index += 1
    used_names.add(f"vm-{vmid}-disk-{index}")
    options["size"] = format_size(int(float(amount) * 1024**3))
    return disk_value(f"{storage}:vm-{vmid}-disk-{index}", options)


def check_existing_volumes(data: dict[str, Any], guest: dict[str, Any], params: dict[str, Any]) -> None:
    """A disk given as an existing volume, not ``storage:size``, must exist: update_vm's
    ``create_disks`` reads its size (``volume_size_info``) and dies "volume … does not
    exist". The disk's own volume given again only changes the disk's options."""
    kind = guest["type"]
    known = {disk_parts(v)[0] for g in data["guests"].values() for k, v in g["config"].items()
             if isinstance(v, str) and (is_disk_key(g["type"], k) or k.startswith("unused"))}
    for key, value in params.items():
        if not is_disk_key(kind, key):
            continue
        volume, options = disk_parts(str(value))
        storage, _, name = volume.partition(":")
        if not name or options.get("media") == "cdrom" or re.fullmatch(r"\d+(\.\d+)?", name):
            continue
        if volume not in known:
            raise SimError(f"volume '{volume}' does not exist")


def volume_names(config: dict[str, Any]) -> set[str]:
    return {disk_parts(v)[0].partition(":")[2] for k, v in config.items() if isinstance(v, str) and ":" in v}


def disk_storages(kind: str, params: dict[str, Any]) -> set[str]:
    """Storages a request allocates new volumes on (they need Datastore.AllocateSpace)."""
    out = set()
    for key, value in params.items():
        if is_disk_key(kind, key):
            volume, _ = disk_parts(value)
            storage, _, amount = volume.partition(":")
            if re.fullmatch(r"\d+(\.\d+)?", amount):
                out.add(storage)
    return out


def disk_volumes(data: dict[str, Any], node: str) -> list[tuple[str, int]]:
    """(storage, bytes) of every disk visible from ``node`` (shared storage: all nodes)."""
    out = []
    for guest in data["guests"].values():
        for key, value in guest["config"].items():
            if is_disk_key(guest["type"], key):
                storage = disk_parts(value)[0].partition(":")[0]
                store = data["storage"].get(storage)
                if store and (store["shared"] or guest["node"] == node):
                    out.append((storage, disk_size(value)))
    return out


def boot_disk_size(guest: dict[str, Any]) -> int:
    config = guest["config"]
    key = "rootfs" if guest["type"] == "lxc" else next((k for k in ("scsi0", "virtio0", "sata0", "ide0") if k in config), None)
    return disk_size(config[key]) if key else 0


def in_backup(kind: str, key: str, value: str) -> bool:
    """Whether vzdump archives this disk: a VM's disks unless ``backup=0`` (qemu-server's
    PVE/VZDump/QemuServer.pm: "exclude disk … (backup=no)"), a container's rootfs, and its
    mount points only with ``backup=1`` (pve-container's ``mountpoint_backup_enabled``)."""
    flag = disk_parts(value)[1].get("backup")
    if kind == "lxc" and key != "rootfs":
        return flag == "1"
    return flag != "0"


def backed_up_size(guest: dict[str, Any]) -> int:
    """The bytes of the disks a backup of ``guest`` copies."""
    kind = guest["type"]
    return sum(disk_size(v) for k, v in guest["config"].items() if is_disk_key(kind, k) and in_backup(kind, k, str(v)))


def memory_mib(config: dict[str, Any]) -> int:
    return int(str(config.get("memory", 512)).split(",")[0].replace("current=", ""))


def check_lock(sim: "ClusterSim", vmid: int, guest: dict[str, Any], skiplock: bool = False) -> None:
    """PVE's ``VM is locked (clone)`` when a config lock (or an injected one) is held, and
    ``can't lock file`` while a request holds the config file lock (lock_config's timeout)."""
    if vmid in sim.state.busy:
        conf = "lxc" if guest["type"] == "lxc" else "qemu-server"
        raise SimError(f"can't lock file '/var/lock/{conf}/lock-{vmid}.conf' - got timeout")
    lock = guest["config"].get("lock") or sim.faults.held_lock(sim.state.name, vmid)
    if lock and not skiplock:
        raise SimError(f"{label(guest['type'])} is locked ({lock})")


def guest_resource(sim: "ClusterSim", vmid: int, guest: dict[str, Any], ha: dict[str, Any]) -> dict[str, Any]:
    """One guest as ``/cluster/resources`` lists it."""
    config = guest["config"]
    online = not sim.faults.is_offline(guest["node"])
    cores = int(config.get("cores", 1)) * (int(config.get("sockets", 1)) if guest["type"] == "qemu" else 1)
    entry = {
        "id": f"{guest['type']}/{vmid}", "type": guest["type"], "vmid": vmid, "node": guest["node"],
        "name": config.get("name") or config.get("hostname") or f"{label(guest['type'])}{vmid}",
        "status": guest["status"] if online else "unknown",
        "template": int(config.get("template", 0)),
        "maxcpu": int(config.get("vcpus") or cores), "maxmem": memory_mib(config) * 1024**2,
        "maxdisk": boot_disk_size(guest), "disk": 0, "mem": 0, "cpu": 0, "uptime": 0,
        "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
    }
    if config.get("tags"):
        entry["tags"] = config["tags"]
    lock = config.get("lock") or sim.faults.held_lock(sim.state.name, vmid)
    if lock:
        entry["lock"] = lock
    sid = f"{'ct' if guest['type'] == 'lxc' else 'vm'}:{vmid}"
    if sid in ha:
        entry["hastate"] = ha[sid]["state"]
    return entry


def shared_disks(data: dict[str, Any], config: dict[str, Any], kind: str) -> bool:
    """Whether every disk of a config is on shared storage (a clone to another node needs
    it: Qemu.pm ``can't clone VM to node … (VM uses local storage)``)."""
    for key, value in config.items():
        if is_disk_key(kind, key) or key == "ide2":
            storage = disk_parts(value)[0].partition(":")[0]
            if not data["storage"].get(storage, {}).get("shared"):
                return False
    return True
