"""What a cluster runs, read in a constant number of API calls.

``/cluster/resources`` gives every node and guest with its cores, memory, boot disk
size, tags, status, lock and HA state; ``/cluster/ha/resources`` and
``/cluster/ha/rules`` give HA; one storage listing gives the container templates when
containers are wanted. Guest configs are read only for guests named like a wanted one
but not tagged (to recognise one hatang created and did not finish tagging): that is
bounded by the conflicts, not by the size of the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hatang.cloud.client import Pve
from hatang.cloud.desired import CREATED_MARKER, FINGERPRINT_PREFIX, MANAGED_TAG
from hatang.errors import HatangError

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
    ct_templates: list[str] = field(default_factory=list)
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


def require_guest_audit(pve: Pve) -> None:
    """Refuse a token that cannot see every guest: PVE leaves out of /cluster/resources
    the guests a token may not audit, and a plan would then create them again."""
    held = pve.get("access/permissions", path="/vms").get("/vms", {})
    if not held.get("VM.Audit"):
        raise HatangError(
            f"{pve.cluster}: the 'pve-api' token cannot see every guest (no VM.Audit on /vms): a plan would take the guests it cannot see for missing ones",
            details=["give the token's user a role with VM.Audit on / (PVEAuditor to plan, PVEVMAdmin and PVEDatastoreUser to apply)"],
        )


def read_cluster(pve: Pve, *, wanted_names: set[str], ct_template_storage: str | None) -> ClusterView:
    """The cluster as it is, in 4 calls (5 with containers, plus one per untagged
    namesake), after checking the token sees every guest."""
    before = pve.calls
    require_guest_audit(pve)
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
    )
    if ct_template_storage:
        node = next((n.name for n in sorted(nodes.values(), key=lambda n: n.name) if n.online), None)
        if node:
            content = pve.get(f"nodes/{node}/storage/{ct_template_storage}/content", content="vztmpl")
            view.ct_templates = [c["volid"] for c in content]
    for guest in guests:
        if guest.name in wanted_names and not guest.managed and not guest.template and nodes.get(guest.node, None) and nodes[guest.node].online:
            config = pve.get(f"{guest.path}/config")
            if config.get("description") == CREATED_MARKER:
                view.adopted.add(guest.vmid)
    view.calls = pve.calls - before
    return view
