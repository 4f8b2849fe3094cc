"""Restores from backup archives, and where a storage is available.

As qemu-server's ``create_vm`` (src/PVE/API2/Qemu.pm, the ``archive`` branch, then
``restore_vma_archive`` in src/PVE/QemuServer.pm) and pve-container's ``create_vm`` with
``restore`` (src/PVE/API2/LXC.pm): the archive must be a backup volume the target node
can read, a disk key given with the archive conflicts with it, the guest's disks are
allocated anew (on ``storage`` if given, else where they were) under the new id,
``unique`` gives the NICs new MAC addresses, and the other config keys given override
the archive's (qemu-server ``override_conf``, since 7.2). A storage restricted to some
nodes (storage.cfg ``nodes``) is unavailable elsewhere: PVE::Storage::storage_check_node
dies "storage 'X' is not available on node 'Y'".
"""

from __future__ import annotations

import copy
import re
from typing import Any

from hatang.lab.pvesim.guests import allocate_disk, disk_parts, in_backup, is_disk_key, parse_size
from hatang.lab.pvesim.routes import Call, route
from hatang.lab.pvesim.store import SimError, mac_for

_MAC = re.compile(r"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}")


def available(data: dict[str, Any], storage: str, node: str) -> bool:
    nodes = data["storage"][storage].get("nodes")
    return not nodes or node in nodes.split(",")


def check_available(data: dict[str, Any], storage: str, node: str) -> None:
    if storage not in data["storage"]:
        raise SimError(f"storage '{storage}' does not exist")
    if not available(data, storage, node):
        raise SimError(f"storage '{storage}' is not available on node '{node}'")


@route("PUT", "/storage/{storage}")
def update_storage(call: Call) -> None:
    """Only the ``nodes`` restriction of a storage is simulated (storage.cfg ``nodes``)."""
    store = call.sim.state.data["storage"].get(call["storage"])
    if store is None:
        raise SimError(f"storage '{call['storage']}' does not exist")
    call.principal.require(f"/storage/{call['storage']}", "Datastore.Allocate")
    if call.get("nodes"):
        for node in call["nodes"].split(","):
            call.sim.state.node_exists(node)
        store["nodes"] = call["nodes"]
    if "nodes" in (call.get("delete") or "").split(","):
        store.pop("nodes", None)
    call.sim.state.save()


def restore_archive(call: Call, kind: str, node: str) -> dict[str, Any] | None:
    """The archive a create restores from (``archive`` for qemu, ``ostemplate`` with
    ``restore`` for lxc), checked at request time; None for a plain create."""
    volid = call.get("archive") if kind == "qemu" else (call.get("ostemplate") if call.flag("restore") else None)
    if not volid:
        return None
    data = call.sim.state.data
    for key in call.params:
        if is_disk_key(kind, key):
            raise SimError("Parameter verification failed.", 400, {key: "option conflicts with option 'archive'"})
    storage = volid.partition(":")[0]
    check_available(data, storage, node)
    call.principal.require(f"/storage/{storage}", "Datastore.Audit", "Datastore.AllocateSpace", any_of=True)
    archive = next((a for a in data.get("backups", []) if a["volid"] == volid), None)
    if archive is None or (not data["storage"][storage]["shared"] and archive["node"] != node):
        raise SimError(f"volume '{volid}' does not exist")
    if archive["subtype"] != kind:
        raise SimError(f"archive '{volid}' is not a {'VM' if kind == 'qemu' else 'container'} backup")
    return archive


def restored_config(call: Call, kind: str, node: str, vmid: int, archive: dict[str, Any]) -> dict[str, Any]:
    """The archive's config under the new id: new volumes, new MACs when ``unique``."""
    data = call.sim.state.data
    config = copy.deepcopy(archive["config"])
    used: set[str] = set()
    for key, value in sorted(config.items()):
        if key.startswith("unused") or (kind == "qemu" and is_disk_key(kind, key) and not in_backup(kind, key, str(value))):
            del config[key]  # a VM's disk left out of the backup: restore_update_config_line comments it out
        elif is_disk_key(kind, key) and ":" in str(value) and "media=cdrom" not in str(value):
            volume, options = disk_parts(str(value))
            target = call.get("storage") or volume.partition(":")[0]
            check_available(data, target, node)
            call.principal.require(f"/storage/{target}", "Datastore.AllocateSpace")
            gib = parse_size(options.pop("size", "1G")) / 1024**3
            config[key] = allocate_disk(data, vmid, key, ",".join([f"{target}:{gib:g}", *(f"{k}={v}" for k, v in options.items())]), used)
        elif re.fullmatch(r"net\d+", key) and call.flag("unique"):
            config[key] = _MAC.sub(mac_for(vmid, int(key[3:])), str(value), count=1)
    return config
