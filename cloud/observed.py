"""What a cluster runs, read in a constant number of API calls.

``/cluster/resources`` gives every node, storage and guest with its cores, memory, boot
disk size, tags, status, lock and HA state; ``/cluster/ha/resources`` and
``/cluster/ha/rules`` give HA, ``/cluster/backup`` the backup jobs. Bounded by what is wanted, not by the cluster's size: the
config of each template VM the inventory names (a clone to another node needs its disks
on shared storage), each online node's container templates when containers are wanted
(``local`` is node-local: a template downloaded on one node is not on the others), the
pending changes of running VMs whose CPU or memory differs (``/cluster/resources`` shows
what runs, not what waits for a restart), and the config of guests named like a wanted
one but not tagged (to recognise one hatang created and did not finish tagging).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hatang.cloud.client import Pve
from hatang.cloud.desired import CREATED_MARKER, FINGERPRINT_PREFIX, MANAGED_TAG
from hatang.cloud.privileges import require_read_privileges

DISK_KEY = re.compile(r"^(scsi|virtio|sata|ide|efidisk|tpmstate)\d+$")
MIB = 1024**2
GIB = 1024**3


@dataclass(frozen=True)
class Guest:
    vmid: int
    name: str
    node: str
    kind: str
    status: str
    cores: int
    memory_mib: int
    boot_disk_gib: int
    tags: tuple[str, ...]
    template: bool
    lock: str | None
    hastate: str | None

    @property
    def managed(self) -> bool:
        return MANAGED_TAG in self.tags and not self.template

    @property
    def fingerprint(self) -> str | None:
        return next((t for t in self.tags if t.startswith(FINGERPRINT_PREFIX)), None)

    @property
    def sid(self) -> str:
        return f"{'ct' if self.kind == 'lxc' else 'vm'}:{self.vmid}"

    @property
    def path(self) -> str:
        return f"nodes/{self.node}/{self.kind}/{self.vmid}"


@dataclass(frozen=True)
class NodeState:
    name: str
    online: bool
    maxcpu: int
    maxmem: int


@dataclass
class ClusterView:
    cluster: str
    nodes: dict[str, NodeState]
    guests: list[Guest]
    ha_resources: dict[str, dict[str, Any]]
    ha_rules: dict[str, dict[str, Any]]
    ct_templates: dict[str, list[str]] = field(default_factory=dict)  # node → volids on its template storage
    template_storages: dict[str, set[str]] = field(default_factory=dict)  # template VM name → storages of its disks
    shared_storages: set[str] = field(default_factory=set)
    storages: set[str] = field(default_factory=set)
    backup_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # /cluster/backup by id
    pending: dict[int, dict[str, str]] = field(default_factory=dict)  # vmid → config key → value waiting for a restart
    adopted: set[int] = field(default_factory=set)  # untagged guests hatang created
    calls: int = 0

    def managed(self) -> list[Guest]:
        return [g for g in self.guests if g.managed or g.vmid in self.adopted]

    def templates(self) -> dict[str, Guest]:
        return {g.name: g for g in sorted(self.guests, key=lambda g: g.vmid, reverse=True) if g.template}


def split_tags(value: str | None) -> tuple[str, ...]:
    return tuple(t for t in (value or "").replace(",", ";").replace(" ", ";").split(";") if t)


def guest_from(entry: dict[str, Any]) -> Guest:
    return Guest(
        vmid=int(entry["vmid"]), name=entry.get("name", ""), node=entry["node"], kind=entry["type"],
        status=entry.get("status", "unknown"), cores=int(entry.get("maxcpu", 0)),
        memory_mib=int(entry.get("maxmem", 0)) // MIB, boot_disk_gib=int(entry.get("maxdisk", 0)) // GIB,
        tags=split_tags(entry.get("tags")), template=bool(entry.get("template")), lock=entry.get("lock"),
        hastate=entry.get("hastate"),
    )


def read_cluster(pve: Pve, *, wanted_names: set[str], ct_template_storage: str | None,
                 wanted_templates: frozenset[str] = frozenset()) -> ClusterView:
    """The cluster as it is, in 4 calls, plus one per template VM wanted (where are its
    disks), one per online node when containers are wanted (its own templates), one per
    untagged namesake; after checking the token sees every guest."""
    before = pve.calls
    require_read_privileges(pve)
    resources = pve.get("cluster/resources")
    nodes = {
        r["node"]: NodeState(r["node"], r.get("status") == "online", int(r.get("maxcpu", 0)), int(r.get("maxmem", 0)))
        for r in resources if r["type"] == "node"
    }
    guests = [guest_from(r) for r in resources if r["type"] in ("qemu", "lxc")]
    view = ClusterView(
        cluster=pve.cluster, nodes=nodes, guests=guests,
        ha_resources={r["sid"]: r for r in pve.get("cluster/ha/resources")},
        ha_rules={r["rule"]: r for r in pve.get("cluster/ha/rules")},
        backup_jobs={j["id"]: j for j in pve.get("cluster/backup")},
    )
    view.shared_storages = {r["storage"] for r in resources if r["type"] == "storage" and r.get("shared")}
    view.storages = {r["storage"] for r in resources if r["type"] == "storage"}
    if ct_template_storage:  # node-local storage: each node has its own templates (one call per online node)
        for node in sorted(n.name for n in nodes.values() if n.online):
            content = pve.get(f"nodes/{node}/storage/{ct_template_storage}/content", content="vztmpl")
            view.ct_templates[node] = [c["volid"] for c in content]
    for name, template in view.templates().items():
        if name in wanted_templates and nodes.get(template.node) and nodes[template.node].online:
            config = pve.get(f"{template.path}/config")
            view.template_storages[name] = {str(v).split(":")[0] for k, v in config.items() if DISK_KEY.match(k) and ":" in str(v)}
    for guest in guests:
        if guest.name in wanted_names and not guest.managed and not guest.template and nodes.get(guest.node, None) and nodes[guest.node].online:
            config = pve.get(f"{guest.path}/config")
            if config.get("description") == CREATED_MARKER:
                view.adopted.add(guest.vmid)
    view.calls = pve.calls - before
    return view


def read_pending(pve: Pve, view: ClusterView, vmids: list[int]) -> None:
    """What each running VM keeps pending (one call per VM whose CPU or memory differs
    from the inventory: /cluster/resources shows the running figures, not the pending)."""
    by_id = {g.vmid: g for g in view.guests}
    for vmid in vmids:
        guest = by_id[vmid]
        entries = pve.get(f"{guest.path}/pending")
        view.pending[vmid] = {e["key"]: str(e["pending"]) for e in entries if "pending" in e}
