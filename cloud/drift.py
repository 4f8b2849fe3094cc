"""Drift: what changed on a cluster outside hatang since hatang last applied it.

After each apply, hatang records what the cluster looked like (managed guests and their
visible fields, its HA rules) under the state directory; ``drift`` reads the cluster
again (the same constant number of calls as a plan) and reports every difference: a
field changed by hand, a guest deleted or untagged, a guest tagged ``hatang`` by
someone else, an HA rule edited, one of hatang's backup jobs edited or deleted. With no record yet, the inventory is the baseline.
``deep`` also reads each managed guest's config (one call per guest) to compare the
fields ``/cluster/resources`` does not carry: NICs, cloud-init, extra disks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from hatang.cloud.backups import COMPARED, JOB_PREFIX
from hatang.cloud.client import Pve
from hatang.cloud.desired import DesiredVm, desired_state
from hatang.cloud.observed import ClusterView, Guest, read_cluster
from hatang.console import warn
from hatang.errors import HatangError
from hatang.inventory.inventory import Inventory
from hatang.paths import state_path

FIELDS = ("vmid", "node", "cores", "memory_mib", "boot_disk_gib", "tags", "status", "ha")


@dataclass(frozen=True)
class DriftItem:
    cluster: str
    name: str
    field: str
    expected: Any
    actual: Any
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "name": self.name, "field": self.field,
                "expected": self.expected, "actual": self.actual, "note": self.note}


@dataclass
class DriftReport:
    items: list[DriftItem]
    baselines: dict[str, str]  # cluster → "last apply <when>" | "the inventory"
    api_calls: int

    def as_dict(self) -> dict[str, Any]:
        return {"drift": [i.as_dict() for i in self.items], "baselines": self.baselines, "api_calls": self.api_calls}


def record(guest: Guest, view: ClusterView) -> dict[str, Any]:
    return {"vmid": guest.vmid, "node": guest.node, "cores": guest.cores, "memory_mib": guest.memory_mib,
            "boot_disk_gib": guest.boot_disk_gib, "tags": ";".join(sorted(guest.tags)), "status": guest.status,
            "ha": (view.ha_resources.get(guest.sid) or {}).get("state", "none")}


def desired_record(vm: DesiredVm) -> dict[str, Any]:
    return {"cores": vm.cores, "memory_mib": vm.memory_mib, "boot_disk_gib": vm.boot_disk_gib,
            "tags": ";".join(sorted(vm.tags)), "status": "running", "ha": "started" if vm.ha else "none"}


def snapshot(view: ClusterView) -> dict[str, Any]:
    return {
        "guests": {g.name: record(g, view) for g in sorted(view.managed(), key=lambda g: -g.vmid)},
        "rules": {name: rule.get("resources", "") for name, rule in view.ha_rules.items() if name.startswith("hatang-")},
        "jobs": {job_id: {key: str(job.get(key, "")) for key in (*COMPARED, "vmid")}
                 for job_id, job in view.backup_jobs.items() if job_id.startswith(JOB_PREFIX)},
    }


def applied_file(env: str, cluster: str) -> Path:
    return state_path("cloud") / f"applied-{env}-{cluster}.json"


def _read(pve: Pve, desired: list[DesiredVm]) -> ClusterView:
    return read_cluster(pve, wanted_names={vm.name for vm in desired}, ct_template_storage=None)


def record_applied(inv: Inventory, cluster: str, desired: list[DesiredVm]) -> None:
    """Remember the cluster as apply left it (best effort: a failed read only warns)."""
    try:
        view = _read(Pve.open(inv, cluster), desired)
    except HatangError as exc:
        warn(f"{cluster}: could not record the applied state for drift checks: {exc.message}")
        return
    path = applied_file(inv.env, cluster)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(snapshot(view), indent=1, sort_keys=True))
    os.replace(tmp, path)


def compare(cluster: str, baseline: dict[str, Any], now: dict[str, Any]) -> list[DriftItem]:
    items = []
    for name, expected in sorted(baseline["guests"].items()):
        actual = now["guests"].get(name)
        if actual is None:
            items.append(DriftItem(cluster, name, "guest", f"vmid {expected.get('vmid', '?')}", "absent", "deleted or untagged outside hatang"))
            continue
        for key in FIELDS:
            if key in expected and expected[key] != actual[key]:
                items.append(DriftItem(cluster, name, key, expected[key], actual[key]))
    for name in sorted(set(now["guests"]) - set(baseline["guests"])):
        items.append(DriftItem(cluster, name, "guest", "absent", f"vmid {now['guests'][name]['vmid']}", "tagged 'hatang' outside hatang"))
    for rule, resources in sorted(baseline.get("rules", {}).items()):
        if now["rules"].get(rule) != resources:
            items.append(DriftItem(cluster, rule, "ha-rule", resources, now["rules"].get(rule, "absent")))
    for job_id, expected in sorted(baseline.get("jobs", {}).items()):
        actual = now["jobs"].get(job_id)
        if actual is None:
            items.append(DriftItem(cluster, job_id, "backup-job", "present", "absent", "deleted outside hatang"))
            continue
        items += [DriftItem(cluster, job_id, key, value, actual.get(key, "")) for key, value in sorted(expected.items())
                  if actual.get(key, "") != value]
    return items


def deep_items(pve: Pve, cluster: str, view: ClusterView, desired: list[DesiredVm]) -> list[DriftItem]:
    """Hidden config fields, one config read per managed guest."""
    wanted = {vm.name: vm for vm in desired}
    items = []
    for guest in sorted(view.managed(), key=lambda g: g.name):
        vm = wanted.get(guest.name)
        if vm is None or not view.nodes.get(guest.node) or not view.nodes[guest.node].online:
            continue
        config = pve.get(f"{guest.path}/config")
        for key, value in vm.hidden_config().items():
            if normalise(config.get(key)) != normalise(value):
                items.append(DriftItem(cluster, guest.name, key, unquote(value), unquote(str(config.get(key, "absent")))))
    return items


def normalise(value: Any) -> str:
    """A config string without the parts PVE fills in (MAC address, volume names, sizes)."""
    text = unquote(str(value or ""))
    parts = [p for p in text.split(",") if not p.startswith("hwaddr=") and not p.startswith("size=")]
    if parts and "=" in parts[0] and parts[0].split("=")[0] in ("virtio", "e1000", "vmxnet3", "rtl8139"):
        parts[0] = parts[0].split("=")[0]
    if parts and ":" in parts[0] and "=" not in parts[0]:
        parts[0] = parts[0].split(":")[0]  # storage:vm-100-disk-1 → storage
    return ",".join(parts[:1] + sorted(parts[1:]))  # options in any order (PVE prints its own)


def drift(inv: Inventory, *, deep: bool = False, clusters: list[str] | None = None) -> DriftReport:
    wanted = desired_state(inv)
    items: list[DriftItem] = []
    baselines: dict[str, str] = {}
    calls = 0
    for cluster in clusters or sorted(wanted):
        pve = Pve.open(inv, cluster)
        view = _read(pve, wanted[cluster])
        path = applied_file(inv.env, cluster)
        if path.exists():
            baseline = json.loads(path.read_text())
            baselines[cluster] = f"the last apply ({path})"
        else:
            baseline = {"guests": {vm.name: desired_record(vm) for vm in wanted[cluster]}, "rules": {}}
            baselines[cluster] = "the inventory (no apply recorded yet)"
        items += compare(cluster, baseline, snapshot(view))
        if deep:
            items += deep_items(pve, cluster, view, wanted[cluster])
        calls += pve.calls
    return DriftReport(items, baselines, calls)
