"""What each plan action does on the API: the calls, the tasks waited on, the retries.

Lock errors (``VM is locked (…)``) are retried with backoff on every call; timeouts
only on calls that are safe to repeat (GET, PUT, DELETE), never on a clone or a create,
which could otherwise make a guest twice. VM ids come from ``/cluster/nextid`` under
a per-cluster lock held until the clone or create has claimed the id (PVE writes the
new config before it answers), and a clash with another client ("already exists")
takes the next id.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from hatang.cloud.client import Pve
from hatang.cloud.desired import CREATED_MARKER, DesiredVm
from hatang.cloud.errors import PveError, retryable
from hatang.cloud.observed import ClusterView, Guest, guest_from
from hatang.cloud.plan import Action, desired_rules
from hatang.cloud.retry import with_backoff
from hatang.errors import HatangError

ID_ATTEMPTS = 5
_MAC = re.compile(r"(?:^[a-z0-9]+=|hwaddr=)([0-9A-Fa-f:]{17})")


def _locked_only(exc: BaseException) -> bool:
    return isinstance(exc, PveError) and exc.locked


def keep_mac(wanted: str, current: str | None) -> str:
    """``wanted`` NIC string with the MAC address the NIC already has (a new MAC is a new NIC)."""
    found = _MAC.search(current or "")
    if not found:
        return wanted
    mac = found.group(1)
    model, _, rest = wanted.partition(",")
    if model.startswith("name="):  # a container NIC: name=eth0,…
        return f"{wanted},hwaddr={mac}"
    return f"{model}={mac},{rest}"


def hidden_params(vm: DesiredVm, current: dict[str, Any]) -> dict[str, Any]:
    """The config fields /cluster/resources does not show, as a PUT over ``current``."""
    out = {}
    for key, value in vm.hidden_config().items():
        if key.startswith("net"):
            out[key] = keep_mac(value, current.get(key))
        elif not (re.match(r"^(scsi|mp)\d+$", key) and key in current):  # an existing disk is resized, not replaced
            out[key] = value
    return out


class Operations:
    """The API side of one cluster's apply. Thread-safe: actions run concurrently."""

    def __init__(self, pve: Pve, view: ClusterView, *, task_timeout_s: float = 300.0):
        self.pve = pve
        self.view = view
        self.task_timeout_s = task_timeout_s
        self._id_lock = threading.Lock()
        self._nodes: dict[int, str] = {g.vmid: g.node for g in view.guests}
        self._nodes_lock = threading.Lock()

    # --- calls with retries -------------------------------------------------------

    def call(self, verb: str, path: str, **params: Any) -> Any:
        should_retry = retryable if verb in ("GET", "PUT", "DELETE") else _locked_only
        return with_backoff(lambda: self.pve.request(verb, path, **params), should_retry=should_retry)

    def task(self, verb: str, path: str, what: str, **params: Any) -> None:
        upid = self.call(verb, path, **params)
        if upid:
            self.pve.wait(upid, what, timeout_s=self.task_timeout_s)

    def path(self, kind: str, vmid: int) -> str:
        with self._nodes_lock:
            return f"nodes/{self._nodes[vmid]}/{kind}/{vmid}"

    def _moved(self, vmid: int, node: str) -> None:
        with self._nodes_lock:
            self._nodes[vmid] = node

    # --- actions ------------------------------------------------------------------

    def run(self, action: Action) -> dict[str, Any]:
        handler: dict[str, Callable[[Action], dict[str, Any]]] = {
            "create": self.create, "update": self.update, "move": self.move, "delete": self.delete,
        }
        return handler[action.op](action)

    def _claim_id(self, start: Callable[[int], str], name: str) -> tuple[int, str]:
        """Allocate an id and start the task that claims it; returns (vmid, upid)."""
        for _ in range(ID_ATTEMPTS):
            with self._id_lock:
                vmid = int(self.call("GET", "cluster/nextid"))
                try:
                    return vmid, start(vmid)
                except PveError as exc:
                    if not exc.already_exists:
                        raise
        raise HatangError(f"{name}: no free VM id after {ID_ATTEMPTS} tries (another client is creating guests at the same time?)")

    def create(self, action: Action) -> dict[str, Any]:
        vm, node = action.desired, action.target
        assert vm is not None and node is not None
        if vm.kind == "qemu":
            template = self.view.templates()[vm.template]
            vmid, upid = self._claim_id(lambda vmid: self.call(
                "POST", f"nodes/{template.node}/qemu/{template.vmid}/clone", newid=vmid, name=vm.name,
                target=node, full=1, storage=vm.disks[0][0], description=CREATED_MARKER), vm.name)
            self._moved(vmid, node)
            self.pve.wait(upid, f"{vm.name}: clone of template {vm.template}", timeout_s=self.task_timeout_s)
            self.call("PUT", f"{self.path('qemu', vmid)}/config", **self._qemu_config(vm))
            if vm.boot_disk_gib > template.boot_disk_gib:
                self.task("PUT", f"{self.path('qemu', vmid)}/resize", f"{vm.name}: grow scsi0", disk="scsi0", size=f"{vm.boot_disk_gib}G")
        else:
            vmid, upid = self._claim_id(lambda vmid: self.call("POST", f"nodes/{node}/lxc", **self._lxc_create(vm, vmid)), vm.name)
            self._moved(vmid, node)
            self.pve.wait(upid, f"{vm.name}: create container", timeout_s=self.task_timeout_s)
        self.task("POST", f"{self.path(vm.kind, vmid)}/status/start", f"{vm.name}: start")
        if vm.ha:
            self.call("POST", "cluster/ha/resources", sid=f"{vm.sid}:{vmid}", state="started")
        return {"vmid": vmid, "node": node}

    def _qemu_config(self, vm: DesiredVm) -> dict[str, Any]:
        base = {"cores": vm.cores, "memory": str(vm.memory_mib), "tags": ";".join(vm.tags), "onboot": 1, "agent": "1",
                "description": vm.description}
        return {**base, **hidden_params(vm, {})}

    def _lxc_create(self, vm: DesiredVm, vmid: int) -> dict[str, Any]:
        volid = next(v for v in self.view.ct_templates if v.split("/")[-1].startswith(vm.template))
        storage, size = vm.disks[0]
        return {
            "vmid": vmid, "ostemplate": volid, "hostname": vm.name, "cores": vm.cores, "memory": vm.memory_mib,
            "swap": 0, "rootfs": f"{storage}:{size}", "tags": ";".join(vm.tags), "description": vm.description,
            "unprivileged": 1, "onboot": 1, "ssh-public-keys": vm.ssh_public_key, **vm.hidden_config(),
        }

    def update(self, action: Action) -> dict[str, Any]:
        vm, vmid = action.desired, action.vmid
        assert vm is not None and vmid is not None
        fields = {c.field for c in action.changes}
        path = self.path(vm.kind, vmid)
        params: dict[str, Any] = {}
        if "cores" in fields:
            params["cores"] = vm.cores
        if "memory_mib" in fields:
            params["memory"] = str(vm.memory_mib) if vm.kind == "qemu" else vm.memory_mib
        if fields & {"tags", "config"}:
            params["tags"] = ";".join(vm.tags)
        if "config" in fields:
            params = {**hidden_params(vm, self.call("GET", f"{path}/config")), **params}
        if params:
            self.call("PUT", f"{path}/config", **params)
        if "boot_disk_gib" in fields:
            disk = "rootfs" if vm.kind == "lxc" else "scsi0"
            self.task("PUT", f"{path}/resize", f"{vm.name}: grow {disk}", disk=disk, size=f"{vm.boot_disk_gib}G")
        if "status" in fields:
            self.task("POST", f"{path}/status/start", f"{vm.name}: start")
        if "ha" in fields:
            sid = f"{vm.sid}:{vmid}"
            if vm.ha and sid in self.view.ha_resources:
                self.call("PUT", f"cluster/ha/resources/{sid}", state="started")
            elif vm.ha:
                self.call("POST", "cluster/ha/resources", sid=sid, state="started")
            else:
                self.call("DELETE", f"cluster/ha/resources/{sid}")
        return {"vmid": vmid, "fields": sorted(fields)}

    def _guest(self, action: Action) -> Guest:
        return next(g for g in self.view.guests if g.vmid == action.vmid)

    def move(self, action: Action) -> dict[str, Any]:
        guest, target = self._guest(action), action.target
        assert target is not None
        running = guest.status == "running"
        extra = ({"online": 1} if guest.kind == "qemu" else {"restart": 1}) if running else {}
        self.task("POST", f"{self.path(guest.kind, guest.vmid)}/migrate", f"{guest.name}: migrate to {target}", target=target, **extra)
        self._moved(guest.vmid, target)
        return {"vmid": guest.vmid, "node": target}

    def delete(self, action: Action) -> dict[str, Any]:
        guest = self._guest(action)
        remove_guest(self, guest)
        return {"vmid": guest.vmid}

    def sync_rules(self, desired: list[DesiredVm]) -> dict[str, Any]:
        """Make the hatang anti-affinity HA rules match the groups, with ids as they are now."""
        resources = self.call("GET", "cluster/resources", type="vm")
        guests = {g.name: g for g in sorted((guest_from(r) for r in resources), key=lambda g: -g.vmid) if g.managed}
        ha = {r["sid"] for r in self.call("GET", "cluster/ha/resources")}
        rules = {r["rule"]: r for r in self.call("GET", "cluster/ha/rules")}
        wanted = desired_rules(desired)
        done = []
        for rule, members in wanted.items():
            sids = sorted(s for s in (f"{m.sid}:{guests[m.name].vmid}" for m in members if m.name in guests) if s in ha)
            current = rules.get(rule)
            if len(sids) < 2:
                continue
            if current is None:
                self.call("POST", "cluster/ha/rules", rule=rule, type="resource-affinity", affinity="negative",
                          resources=",".join(sids), comment="hatang: anti-affinity group")
            elif sorted(current["resources"].split(",")) != sids or current.get("affinity") != "negative":
                self.call("PUT", f"cluster/ha/rules/{rule}", type="resource-affinity", affinity="negative", resources=",".join(sids))
            else:
                continue
            done.append(rule)
        for rule in rules:
            if rule.startswith("hatang-aa-") and rule not in wanted:
                self.call("DELETE", f"cluster/ha/rules/{rule}")
                done.append(rule)
        return {"rules": done}


def remove_guest(ops: Operations, guest: Guest) -> None:
    """Take a guest out of HA, stop it, and destroy it with its disks."""
    path = ops.path(guest.kind, guest.vmid)
    if guest.sid in ops.view.ha_resources or guest.hastate:
        try:
            ops.call("DELETE", f"cluster/ha/resources/{guest.sid}")
        except PveError as exc:
            if "not HA managed" not in exc.reason:
                raise
    if guest.status == "running":
        ops.task("POST", f"{path}/status/stop", f"{guest.name}: stop")
    ops.task("DELETE", path, f"{guest.name}: destroy", purge=1, **{"destroy-unreferenced-disks": 1})
