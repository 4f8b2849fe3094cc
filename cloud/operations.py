"""What each plan action does on the API: the calls, the tasks waited on, the retries.

As real PVE behaves (qemu-server, pve-container, pve-ha-manager; see docs/cloud.md):
- lock errors (``VM is locked (…)``, ``can't lock file``) are retried with backoff
  whether PVE answers them at request time (config PUT, migrate, clone) or as the exit
  status of the task (start, stop, resize, destroy check the lock inside the task);
- timeouts are retried only on calls safe to repeat (GET, DELETE, a PUT that allocates
  nothing); a PUT that allocates a disk (``storage:size``) is never sent twice: after a
  timeout the config is read again until the disk is there (a second PUT would leave
  the first volume as ``unusedN``); a clone or a create is never repeated blindly; an
  existing disk's options (``backup=0``) change on its own volume, never by ``storage:size``;
- VM ids come from ``/cluster/nextid``; a container's create claims the id before it
  answers, a VM's clone only inside its ``qmclone`` task, so a clone task that finds its
  id taken by another client's clone is retried with the next id;
- a task ending ``WARNINGS: n`` succeeded: its warnings are kept for the report;
- an HA-managed guest is moved through ``/cluster/ha/resources/{sid}/migrate`` (PVE's
  ``hamigrate`` task ends at once, the guest moves later or never) and started through
  its HA state, then hatang waits until ``/cluster/resources`` shows it there and
  running; a migration blocked by anti-affinity names the blocking guests;
- CPU and memory changes to a running VM stay pending until it restarts: the result
  says so, and :meth:`Operations.reboot` applies them.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from hatang.cloud.backups import JOB_PREFIX, job_changes, job_params
from hatang.cloud.client import Pve
from hatang.cloud.desired import CREATED_MARKER, DesiredVm
from hatang.cloud.errors import PveError, TaskError, UnreachableError, locked, retryable
from hatang.cloud.observed import ClusterView, Guest, guest_from
from hatang.cloud.plan import PENDING_KEYS, Action, ClusterPlan, desired_rules
from hatang.cloud.retry import with_backoff
from hatang.errors import HatangError

ID_ATTEMPTS = 5
POLL_S = 0.25
_MAC = re.compile(r"(?:^[a-z0-9]+=|hwaddr=)([0-9A-Fa-f:]{17})")
MANAGED_DISK_OPTIONS = ("backup", "mp")  # what hatang sets on an extra disk besides its storage and size
_NEW_DISK = re.compile(r"^[A-Za-z][\w.-]*:\d+(\.\d+)?(,|$)")  # storage:size, a volume to allocate


def allocates(params: dict[str, Any]) -> list[str]:
    """The keys of a config PUT that allocate a new volume (``scsi1=backup-nfs:60000``)."""
    return sorted(k for k, v in params.items() if re.match(r"^(scsi|virtio|sata|ide|mp)\d+$|^rootfs$", k) and _NEW_DISK.match(str(v)))


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


def keep_volume(wanted: str, current: str) -> str | None:
    """An existing disk with the options hatang manages (``backup``, a mount point's
    ``mp``) as ``wanted`` says, on the volume and size it has: given ``storage:size``, PVE
    would allocate a new disk (Qemu.pm ``update_vm``) and leave this one as ``unusedN``.
    None when those options already match."""
    volume, *have = current.split(",")
    _, *want = wanted.split(",")
    wanted_opts = dict(o.split("=", 1) for o in want if "=" in o)
    kept = [o for o in have if o.split("=", 1)[0] not in (*MANAGED_DISK_OPTIONS, *wanted_opts)]
    value = ",".join([volume, *(f"{k}={v}" for k, v in wanted_opts.items()), *kept])
    return None if sorted(value.split(",")) == sorted(current.split(",")) else value


def hidden_params(vm: DesiredVm, current: dict[str, Any]) -> dict[str, Any]:
    """The config fields /cluster/resources does not show, as a PUT over ``current``."""
    out = {}
    for key, value in vm.hidden_config().items():
        if key.startswith("net"):
            out[key] = keep_mac(value, current.get(key))
        elif re.match(r"^(scsi|mp)\d+$", key) and key in current:  # an existing disk: its options, never a new volume
            options = keep_volume(value, str(current[key]))
            if options is not None:
                out[key] = options
        else:
            out[key] = value
    return out


class Operations:
    """The API side of one cluster's apply. Thread-safe: actions run concurrently."""

    def __init__(self, pve: Pve, view: ClusterView, *, task_timeout_s: float = 300.0):
        self.pve = pve
        self.view = view
        self.task_timeout_s = task_timeout_s
        self._id_lock = threading.Lock()
        self._claimed: set[int] = set()
        self._nodes: dict[int, str] = {g.vmid: g.node for g in view.guests}
        self._nodes_lock = threading.Lock()

    # --- calls with retries -------------------------------------------------------

    def call(self, verb: str, path: str, **params: Any) -> Any:
        safe = verb in ("GET", "DELETE") or (verb == "PUT" and not allocates(params))
        return with_backoff(lambda: self.pve.request(verb, path, **params), should_retry=retryable if safe else locked)

    def task(self, verb: str, path: str, what: str, **params: Any) -> list[str]:
        """Start a task and wait for it; the whole is retried while a lock holds it back."""
        def attempt() -> list[str]:
            upid = self.pve.request(verb, path, **params)
            return self.pve.wait(upid, what, timeout_s=self.task_timeout_s) if upid else []
        return with_backoff(attempt, should_retry=locked)

    def put_config(self, path: str, what: str, **params: Any) -> None:
        """A config PUT; one that allocates a disk is sent once, and after a timeout the
        config is read until the disk is there (PVE writes it when the allocation ends)."""
        try:
            self.call("PUT", f"{path}/config", **params)
        except UnreachableError as exc:
            disks = allocates(params)
            if not (exc.timeout and disks):
                raise
            self._until(lambda: all(k in self.call("GET", f"{path}/config") for k in disks),
                        f"{what}: the config PUT timed out while PVE allocated {', '.join(disks)}; it did not appear")

    def _until(self, done: Callable[[], bool], failure: str) -> None:
        deadline = time.monotonic() + self.task_timeout_s
        while not done():
            if time.monotonic() >= deadline:
                raise HatangError(f"{failure} within {self.task_timeout_s:g} s",
                                  details=["run 'hatang cloud apply' again once the cluster is quiet: it continues from what is there"])
            time.sleep(POLL_S)

    def _resource(self, vmid: int) -> dict[str, Any] | None:
        return next((r for r in self.call("GET", "cluster/resources", type="vm") if int(r["vmid"]) == vmid), None)

    def await_guest(self, vmid: int, what: str, *, node: str | None = None, status: str | None = None) -> None:
        """Wait until /cluster/resources shows the guest on ``node`` and/or in ``status``
        (the HA manager acts after its task has ended)."""
        def there() -> bool:
            entry = self._resource(vmid) or {}
            return (node is None or entry.get("node") == node) and (status is None or entry.get("status") == status)
        self._until(there, f"{what}: the HA manager did not {'move it to ' + node if node else 'bring it to ' + str(status)}")
        if node:
            self._moved(vmid, node)

    def path(self, kind: str, vmid: int) -> str:
        with self._nodes_lock:
            return f"nodes/{self._nodes[vmid]}/{kind}/{vmid}"

    def _moved(self, vmid: int, node: str) -> None:
        with self._nodes_lock:
            self._nodes[vmid] = node

    # --- actions ------------------------------------------------------------------

    def run(self, action: Action) -> dict[str, Any]:
        handler: dict[str, Callable[[Action], dict[str, Any]]] = {
            "create": self.create, "update": self.update, "move": self.move, "delete": self.delete, "reboot": self.reboot,
        }
        return handler[action.op](action)

    def _next_id(self) -> int:
        """/cluster/nextid, past the ids this apply's own clones have claimed but whose
        worker may not have written its placeholder yet (call under ``_id_lock``)."""
        vmid = int(self.call("GET", "cluster/nextid"))
        while vmid in self._claimed:
            vmid += 1
        self._claimed.add(vmid)
        return vmid

    def _clone(self, vm: DesiredVm, node: str) -> tuple[int, list[str]]:
        """Clone the template to a fresh id; another client's clone may take the same id
        between /cluster/nextid and our worker's placeholder: then the next id."""
        template = self.view.templates()[vm.template]
        what = f"{vm.name}: clone of template {vm.template}"
        for _ in range(ID_ATTEMPTS):
            with self._id_lock:
                vmid = self._next_id()
                try:
                    upid = self.call("POST", f"nodes/{template.node}/qemu/{template.vmid}/clone", newid=vmid, name=vm.name,
                                     target=node, full=1, storage=vm.disks[0][0], description=CREATED_MARKER)
                except PveError as exc:
                    if exc.already_exists:
                        self._claimed.discard(vmid)  # another client's now
                        continue
                    raise
            try:
                return vmid, self.pve.wait(upid, what, timeout_s=self.task_timeout_s)
            except TaskError as exc:
                if not exc.id_taken:
                    raise
                with self._id_lock:
                    self._claimed.discard(vmid)
        raise HatangError(f"{vm.name}: no free VM id after {ID_ATTEMPTS} tries (another client is creating guests at the same time?)")

    def _create_container(self, vm: DesiredVm, node: str) -> tuple[int, list[str]]:
        """pve-container claims the id before it answers: a clash is a request error."""
        for _ in range(ID_ATTEMPTS):
            with self._id_lock:
                vmid = self._next_id()
                try:
                    upid = self.call("POST", f"nodes/{node}/lxc", **self._lxc_create(vm, vmid, node))
                except PveError as exc:
                    if exc.already_exists:
                        self._claimed.discard(vmid)  # another client's now
                        continue
                    raise
            return vmid, self.pve.wait(upid, f"{vm.name}: create container", timeout_s=self.task_timeout_s)
        raise HatangError(f"{vm.name}: no free CT id after {ID_ATTEMPTS} tries (another client is creating guests at the same time?)")

    def create(self, action: Action) -> dict[str, Any]:
        vm, node = action.desired, action.target
        assert vm is not None and node is not None
        made = self._made_meanwhile(vm)
        if made is not None:
            return made
        if vm.kind == "qemu":
            template = self.view.templates()[vm.template]
            vmid, warnings = self._clone(vm, node)
            self._moved(vmid, node)
            twin = self._twin(vm, vmid)
            if twin is not None:
                return twin
            self.put_config(self.path("qemu", vmid), vm.name, **self._qemu_config(vm))
            if vm.boot_disk_gib > template.boot_disk_gib:
                warnings += self.task("PUT", f"{self.path('qemu', vmid)}/resize", f"{vm.name}: grow scsi0", disk="scsi0", size=f"{vm.boot_disk_gib}G")
        else:
            vmid, warnings = self._create_container(vm, node)
            self._moved(vmid, node)
            twin = self._twin(vm, vmid)
            if twin is not None:
                return twin
        warnings += self.task("POST", f"{self.path(vm.kind, vmid)}/status/start", f"{vm.name}: start")
        if vm.ha:
            self.call("POST", "cluster/ha/resources", sid=f"{vm.sid}:{vmid}", state="started")
        return {"vmid": vmid, "node": node, **({"warnings": warnings} if warnings else {})}

    def _settle(self, vm: DesiredVm, creating: Callable[[int], bool], what: str) -> list[dict[str, Any]]:
        """/cluster/resources once no guest ``creating`` selects holds a clone or create lock
        (a clone has no name until its task ends)."""
        resources: list[dict[str, Any]] = []

        def settled() -> bool:
            resources[:] = self.call("GET", "cluster/resources", type="vm")
            return not any(creating(int(r["vmid"])) and r.get("lock") in ("clone", "create") for r in resources)
        self._until(settled, f"{vm.name}: {what} did not finish")
        return [r for r in resources if r.get("name") == vm.name and not r.get("template")]

    def _made_meanwhile(self, vm: DesiredVm) -> dict[str, Any] | None:
        """The plan found no guest of this name; an apply on another machine may have made
        it since. Asked right before the clone, because the lower-id rule of ``_twin`` alone
        can keep two: /cluster/nextid gives the lowest free id, so an id a twin check freed
        goes to a later clone, below a twin that already checked and kept itself."""
        made = sorted(int(r["vmid"]) for r in self._settle(vm, lambda vmid: vmid not in self._claimed, "guests other clients were creating"))
        if not made:
            return None
        return {"vmid": made[0], "note": f"another apply created {vm.name} (vmid {made[0]}) at the same time: kept it, cloned nothing"}

    def _twin(self, vm: DesiredVm, vmid: int) -> dict[str, Any] | None:
        """Another apply (from another machine: the file lock covers only this one) may
        have created the same guest meanwhile. The lower id stays; if that is the other
        one, ours (just made, still unconfigured) is destroyed and the other is reported.
        Clones with lower ids still in their task are waited for (their names come last)."""
        twins = sorted(int(r["vmid"]) for r in self._settle(vm, lambda other: other < vmid, "guests created just before it")
                       if int(r["vmid"]) < vmid)
        if not twins:
            return None
        self.task("DELETE", self.path(vm.kind, vmid), f"{vm.name}: destroy the duplicate {vmid}", purge=1,
                  **{"destroy-unreferenced-disks": 1})
        return {"vmid": twins[0], "note": f"another apply created {vm.name} (vmid {twins[0]}) at the same time: kept it, destroyed our {vmid}"}

    def _qemu_config(self, vm: DesiredVm) -> dict[str, Any]:
        base = {"cores": vm.cores, "memory": str(vm.memory_mib), "tags": ";".join(vm.tags), "onboot": 1, "agent": "1",
                "description": vm.description}
        return {**base, **hidden_params(vm, {})}

    def _lxc_create(self, vm: DesiredVm, vmid: int, node: str) -> dict[str, Any]:
        volid = next(v for v in self.view.ct_templates.get(node, []) if v.split("/")[-1].startswith(vm.template))
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
        sid = f"{vm.sid}:{vmid}"
        params: dict[str, Any] = {}
        warnings: list[str] = []
        if "cores" in fields:
            params["cores"] = vm.cores
        if "memory_mib" in fields:
            params["memory"] = str(vm.memory_mib) if vm.kind == "qemu" else vm.memory_mib
        if fields & {"tags", "config"}:
            params["tags"] = ";".join(vm.tags)
        if "config" in fields:
            params = {**hidden_params(vm, self.call("GET", f"{path}/config")), **params}
        if params:
            self.put_config(path, vm.name, **params)
        if "boot_disk_gib" in fields:
            disk = "rootfs" if vm.kind == "lxc" else "scsi0"
            warnings += self.task("PUT", f"{path}/resize", f"{vm.name}: grow {disk}", disk=disk, size=f"{vm.boot_disk_gib}G")
        if "status" in fields and sid in self.view.ha_resources:
            self.call("PUT", f"cluster/ha/resources/{sid}", state="started")  # PVE would answer with a hastart task
            self.await_guest(vmid, f"{vm.name}: start", status="running")
        elif "status" in fields:
            warnings += self.task("POST", f"{path}/status/start", f"{vm.name}: start")
        if "ha" in fields:
            if vm.ha and sid in self.view.ha_resources:
                self.call("PUT", f"cluster/ha/resources/{sid}", state="started")
            elif vm.ha:
                self.call("POST", "cluster/ha/resources", sid=sid, state="started")
            else:
                self.call("DELETE", f"cluster/ha/resources/{sid}")
        out: dict[str, Any] = {"vmid": vmid, "fields": sorted(fields)}
        pending = self.pending_keys(vm, vmid, fields)
        if pending:
            out["pending_reboot"] = pending
        if warnings:
            out["warnings"] = warnings
        return out

    def pending_keys(self, vm: DesiredVm, vmid: int, fields: set[str]) -> list[str]:
        """The changed keys a running VM keeps pending until it restarts (read back from PVE)."""
        if vm.kind != "qemu" or not fields & set(PENDING_KEYS):
            return []
        return sorted(e["key"] for e in self.call("GET", f"{self.path('qemu', vmid)}/pending") if "pending" in e)

    def _guest(self, action: Action) -> Guest:
        return next(g for g in self.view.guests if g.vmid == action.vmid)

    def move(self, action: Action) -> dict[str, Any]:
        guest, target = self._guest(action), action.target
        assert target is not None
        if guest.sid in self.view.ha_resources:
            return self._ha_move(guest, target)
        running = guest.status == "running"
        extra = ({"online": 1} if guest.kind == "qemu" else {"restart": 1}) if running else {}
        warnings = self.task("POST", f"{self.path(guest.kind, guest.vmid)}/migrate", f"{guest.name}: migrate to {target}", target=target, **extra)
        self._moved(guest.vmid, target)
        return {"vmid": guest.vmid, "node": target, **({"warnings": warnings} if warnings else {})}

    def _ha_move(self, guest: Guest, target: str) -> dict[str, Any]:
        """Ask the HA manager; it refuses a node where a negative-affinity partner runs."""
        answer = self.call("POST", f"cluster/ha/resources/{guest.sid}/migrate", node=target)
        blocking = [b.get("sid", "?") for b in (answer or {}).get("blocking-resources") or []]
        if blocking:
            raise HatangError(f"{guest.name}: the HA manager will not move it to {target}: blocked by anti-affinity with {', '.join(blocking)}",
                              details=["move or stop the blocking guest first, or change the inventory's placement"])
        self.await_guest(guest.vmid, f"{guest.name}: migrate to {target}", node=target)
        return {"vmid": guest.vmid, "node": target, "via": "ha"}

    def reboot(self, action: Action) -> dict[str, Any]:
        """Restart a running VM so its pending changes take effect (``/status/reboot``
        applies them); waits until it runs again."""
        guest = self._guest(action)
        warnings = self.task("POST", f"{self.path('qemu', guest.vmid)}/status/reboot", f"{guest.name}: reboot")
        self.await_guest(guest.vmid, f"{guest.name}: reboot", status="running")
        return {"vmid": guest.vmid, "node": guest.node, "applied": [c.field for c in action.changes],
                **({"warnings": warnings} if warnings else {})}

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


    def sync_jobs(self, cplan: ClusterPlan) -> dict[str, Any]:
        """Make hatang's backup jobs match, with the ids the guests have now."""
        resources = self.call("GET", "cluster/resources", type="vm")
        vmids = {g.name: g.vmid for g in sorted((guest_from(r) for r in resources), key=lambda g: -g.vmid) if g.managed}
        current = {j["id"]: j for j in self.call("GET", "cluster/backup")}
        assert cplan.view is not None
        done = []
        for job in cplan.jobs:
            if job.settings["storage"] not in cplan.view.storages:
                continue  # a plan problem already says so
            if job.id not in current:
                self.call("POST", "cluster/backup", id=job.id, **job_params(job, vmids))
            elif job_changes(job, current[job.id], vmids):
                self.call("PUT", f"cluster/backup/{job.id}", **job_params(job, vmids))
            else:
                continue
            done.append(job.id)
        wanted = {job.id for job in cplan.jobs}
        for job_id in sorted(current):
            if job_id.startswith(JOB_PREFIX) and job_id not in wanted:
                self.call("DELETE", f"cluster/backup/{job_id}")
                done.append(job_id)
        return {"jobs": done}


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
