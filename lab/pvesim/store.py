"""One simulated cluster's state: nodes, storage, guests and HA, kept on disk as JSON.

Guests hold their configuration as PVE's config files do (``cores``, ``memory``,
``net0``, ``scsi0``, ``tags``, ``lock``…), so the API serves them back as PVE would.
Every change is saved atomically under the cluster's lock.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from hatang.inventory import model as m
from hatang.lab.pvesim.files import read_json, write_json

GIB = 1024**3
TEMPLATE_BASE_VMID = 9000


class SimError(Exception):
    """A failure PVE reports with an HTTP status and a reason phrase (500 unless told)."""

    def __init__(self, message: str, status: int = 500, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors


def lxc_template_volid(template: str) -> str:
    return f"local:vztmpl/{template}_amd64.tar.zst"


def _storage_bytes(cluster: m.Cluster, storage: m.Storage) -> int:
    """Usable bytes: raw OSD space over replicas for Ceph, the declared size otherwise."""
    if storage.raw_gb:
        return storage.raw_gb * 10**9 // storage.replicas
    role = "osd" if storage.type == "rbd" else "local"
    per_node = [sum(d.size_gb * d.count for d in node.disks if d.role == role) for node in cluster.nodes]
    raw = sum(per_node) if storage.shared else min(per_node or [0])
    return raw * 10**9 // storage.replicas


def seed(cluster: m.Cluster, vms: list[m.Vm]) -> dict[str, Any]:
    """A fresh cluster as the inventory declares it, with the templates its VMs name."""
    first_images = next((s.name for s in cluster.storage if s.shared and "images" in s.content), cluster.storage[0].name)
    storage = {
        s.name: {"type": s.type, "shared": int(s.shared), "content": ",".join(s.content), "total": _storage_bytes(cluster, s)}
        for s in cluster.storage
    }
    storage["local"] = {"type": "dir", "shared": 0, "content": "iso,vztmpl,backup", "total": 100 * GIB}
    guests: dict[str, Any] = {}
    qemu_templates = sorted({vm.spec.template for vm in vms if vm.cluster == cluster.name and vm.spec.kind == "qemu"})
    for offset, name in enumerate(qemu_templates):
        vmid = TEMPLATE_BASE_VMID + offset
        guests[str(vmid)] = {
            "type": "qemu",
            "node": cluster.nodes[0].name,
            "status": "stopped",
            "config": {
                "name": name, "template": 1, "cores": 2, "sockets": 1, "memory": "2048",
                "scsi0": f"{first_images}:base-{vmid}-disk-0,size=2G",
                "ide2": f"{first_images}:vm-{vmid}-cloudinit,media=cdrom",
                "net0": f"virtio={mac_for(vmid, 0)},bridge=vmbr0",
                "scsihw": "virtio-scsi-single", "ostype": "l26", "boot": "order=scsi0",
                "agent": "1", "serial0": "socket", "vga": "serial0", "tags": "template",
            },
        }
    lxc_templates = sorted({vm.spec.template for vm in vms if vm.cluster == cluster.name and vm.spec.kind == "lxc"})
    return {
        "cluster": cluster.name,
        "nodes": {n.name: {"maxcpu": n.cores * n.threads_per_core, "maxmem": n.ram_gib * GIB} for n in cluster.nodes},
        "storage": storage,
        # ``local`` is node-local: each node holds the templates downloaded on it (pveam)
        "vztmpl": {n.name: [lxc_template_volid(t) for t in lxc_templates] for n in cluster.nodes},
        "guests": guests,
        "ha": {"resources": {}, "rules": {}},
    }


def mac_for(vmid: int, index: int) -> str:
    """A stable MAC in Proxmox's BC:24:11 prefix."""
    digest = hashlib.sha1(f"{vmid}/{index}".encode()).digest()
    return "BC:24:11:" + ":".join(f"{b:02X}" for b in digest[:3])


def config_digest(config: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()


class ClusterState:
    """The state of one cluster; ``lock`` guards ``data``; ``save()`` after each change."""

    def __init__(self, path: Path, data: dict[str, Any]):
        self.path = path
        self.data = data
        self.lock = threading.RLock()
        self.busy: set[int] = set()  # guests whose config file lock a request holds (not persisted)

    @classmethod
    def open(cls, path: Path, fresh: dict[str, Any]) -> "ClusterState":
        """The state on disk if any (a restart keeps the cluster), else ``fresh``."""
        state = cls(path, read_json(path, None) or fresh)
        if isinstance(state.data.get("vztmpl"), list):  # a state from before templates were per node
            state.data["vztmpl"] = {node: list(state.data["vztmpl"]) for node in state.data["nodes"]}
        state.save()
        return state

    @property
    def name(self) -> str:
        return self.data["cluster"]

    def save(self) -> None:
        with self.lock:
            write_json(self.path, self.data)

    def node_exists(self, node: str) -> None:
        if node not in self.data["nodes"]:
            raise SimError(f"no such cluster node '{node}'", 400, {"node": f"no such cluster node '{node}'"})

    def guest(self, vmid: int | str, kind: str | None = None, node: str | None = None) -> dict[str, Any]:
        """A guest by id; PVE's messages when it is missing or on another node."""
        guest = self.data["guests"].get(str(vmid))
        label = "CT" if kind == "lxc" else "VM"
        if guest is None or (kind is not None and guest["type"] != kind):
            conf = "lxc" if kind == "lxc" else "qemu-server"
            raise SimError(f"Configuration file 'nodes/{node}/{conf}/{vmid}.conf' does not exist")
        if node is not None and guest["node"] != node:
            raise SimError(f"{label} {vmid} is not on node '{node}' (it is on '{guest['node']}')")
        return guest

    def check_vmid_unused(self, vmid: int, kind: str) -> None:
        existing = self.data["guests"].get(str(vmid))
        if existing is not None:
            label = "CT" if existing["type"] == "lxc" else "VM"
            raise SimError(f"{label} {vmid} already exists on node '{existing['node']}'")

    def next_free_vmid(self) -> int:
        used = {int(v) for v in self.data["guests"]}
        vmid = 100
        while vmid in used:
            vmid += 1
        return vmid
