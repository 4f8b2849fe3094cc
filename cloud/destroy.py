"""Destroy one managed guest by name, and never anything hatang does not manage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hatang import audit
from hatang.cloud.client import Pve
from hatang.cloud.desired import MANAGED_TAG
from hatang.cloud.drift import record_applied
from hatang.cloud.observed import Guest, read_cluster
from hatang.cloud.operations import Operations, remove_guest
from hatang.errors import HatangError, UserAbort
from hatang.inventory.inventory import Inventory


def find(inv: Inventory, name: str) -> tuple[Pve, Operations, Guest]:
    """The one guest called ``name`` in the inventory's clusters, with a client for its cluster."""
    found = []
    for cluster in sorted(inv.cluster_by_name):
        pve = Pve.open(inv, cluster)
        view = read_cluster(pve, wanted_names=set(), ct_template_storage=None)
        found += [(pve, Operations(pve, view), g) for g in view.guests if g.name == name and not g.template]
    if not found:
        raise HatangError(f"no guest named '{name}' in the clusters {', '.join(sorted(inv.cluster_by_name))}")
    if len(found) > 1:
        where = ", ".join(f"{p.cluster} vmid {g.vmid}" for p, _, g in found)
        raise HatangError(f"several guests are named '{name}' ({where}): destroy them in the Proxmox UI, hatang will not guess")
    return found[0]


def destroy(inv: Inventory, name: str, *, confirm: Callable[[str], bool]) -> dict[str, Any]:
    """Destroy the managed guest ``name`` after ``confirm(question)`` says yes."""
    pve, ops, guest = find(inv, name)
    if MANAGED_TAG not in guest.tags:
        raise HatangError(
            f"refusing to destroy '{name}' ({pve.cluster} vmid {guest.vmid}): it is not tagged '{MANAGED_TAG}', "
            "and hatang never touches what it does not manage"
        )
    if not ops.view.nodes.get(guest.node) or not ops.view.nodes[guest.node].online:
        raise HatangError(f"'{name}' is on {guest.node}, which is offline: it cannot be destroyed now")
    question = f"Destroy {guest.kind} '{name}' (vmid {guest.vmid} on {guest.node}, cluster {pve.cluster}) and its disks?"
    if not confirm(question):
        raise UserAbort(f"nothing destroyed: '{name}' is untouched")
    record = {"action": "destroy", "env": inv.env, "cluster": pve.cluster, "name": name, "vmid": guest.vmid, "node": guest.node}
    try:
        remove_guest(ops, guest)
    except HatangError as exc:
        audit.append("cloud", {**record, "ok": False, "error": exc.message})
        raise
    audit.append("cloud", {**record, "ok": True})
    record_applied(inv, pve.cluster, [])  # hatang removed it: not drift
    in_inventory = any(vm.name == name for vm in inv.vms())
    return {**record, "ok": True, "api_calls": pve.calls,
            "note": "still in the inventory: the next apply creates it again" if in_inventory else ""}
