"""QEMU VMs and LXC containers: create, clone, config, power, migrate, resize, delete.

Both kinds share one set of handlers (``{kind}`` below); the differences PVE has
(``name`` vs ``hostname``, ``online`` vs ``restart``, task type prefixes ``qm``/``vz``)
are spelled out where they matter. Long operations run as tasks and hold the config lock
PVE holds meanwhile (``create``, ``clone``, ``migrate``).

Where real PVE differs from the obvious, the simulator follows it (qemu-server,
src/PVE/API2/Qemu.pm and src/PVE/QemuServer.pm, commit e6352be):
- a clone answers before the new guest exists: ``clone_vm`` forks ``qmclone`` and the
  worker writes the placeholder config (``lock: clone``) under ``lock_config_full($newid, 1)``;
  a second clone to the same id fails inside its task;
- a config change to a running VM stays pending unless hot-pluggable
  (``vmconfig_hotplug_pending``: the ``$fast_plug_option`` keys, cloud-init, NICs and disks
  with the default ``hotplug=network,disk,usb``; never ``cores`` or ``memory``); a start or
  a reboot applies it (``vmconfig_apply_pending``); ``/pending`` lists it;
- start, stop, shutdown, reboot, resize and destroy check the config lock inside their
  task (``vm_start``/``vm_stop``/``vm_reboot`` take ``lock_config`` in the worker), so
  ``VM is locked (backup)`` is the task's exit status, not a 500;
- NICs need ``SDN.Use`` on ``/sdn/zones/localnetwork/<bridge>[/<tag>]``
  (``check_bridge_access`` → pve-guest-common ``check_vnet_access``);
- a new disk (``storage:size``) is allocated while the synchronous config PUT waits, and
  an existing disk key given a new volume leaves the old one as ``unusedN``
  (``vmconfig_register_unused_drive``); an existing volume must exist, and a disk given
  its own volume again only changes its options (``backup=0``…).
"""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from hatang.lab.pvesim import guest_agent
from hatang.lab.pvesim.api_cluster import drop_from_rules
from hatang.lab.pvesim.api_restore import restore_archive, restored_config
from hatang.lab.pvesim.guests import (
    allocate_disk, check_existing_volumes, check_lock, disk_parts, disk_storages, disk_value, format_size, guest_resource, is_disk_key,
    label, parse_size, shared_disks, volume_names,
)
from hatang.lab.pvesim.routes import Call, route
from hatang.lab.pvesim.store import SimError, config_digest, mac_for

KINDS = ("qemu", "lxc")
# Request parameters that steer a call rather than being written to the config.
CONTROL = {"node", "vmid", "digest", "delete", "skiplock", "force", "revert", "background_delay",
           "start", "storage", "unique", "pool", "ssh-public-keys", "password", "restore",
           "ignore-unpack-errors", "bwlimit", "archive", "live-restore", "ha-managed", "ostemplate"}


# Which privilege each config key needs (qemu-server's check_vm_modify_config_perm).
_CONFIG_PRIVILEGES = (
    (re.compile(r"^(cores|sockets|vcpus|cpu|cpulimit|cpuunits|numa|affinity)$"), "VM.Config.CPU"),
    (re.compile(r"^(memory|balloon|shares|swap)$"), "VM.Config.Memory"),
    (re.compile(r"^net\d+$"), "VM.Config.Network"),
    (re.compile(r"^(ciuser|cipassword|citype|ciupgrade|sshkeys|ipconfig\d+|nameserver|searchdomain)$"), "VM.Config.Cloudinit"),
    (re.compile(r"^(scsihw|bios|machine|vga|serial\d+|usb\d+|hostpci\d+|rng0|tpmstate0|efidisk0|kvm|acpi)$"), "VM.Config.HWType"),
)


_NET_KEY = re.compile(r"^net\d+$")
# QemuServer.pm ``$fast_plug_option`` plus the cloud-init keys: applied to a running VM at once.
FAST_PLUG = frozenset(("description", "hookscript", "lock", "migrate_downtime", "migrate_speed", "name", "onboot",
                       "protection", "shares", "startup", "tags", "vmstatestorage", "ciuser", "cipassword", "citype",
                       "ciupgrade", "cicustom", "sshkeys", "nameserver", "searchdomain"))


def hot_pluggable(key: str) -> bool:
    """Whether a running VM takes this key at once (default ``hotplug``: network, disk, usb)."""
    return key in FAST_PLUG or key.startswith("ipconfig") or bool(_NET_KEY.match(key)) or is_disk_key("qemu", key)


def require_bridge_access(call: Call, config: dict[str, Any]) -> None:
    """``SDN.Use`` on every bridge (and VLAN) a NIC plugs into, as check_vnet_access asks."""
    for key in sorted(config):
        if not _NET_KEY.match(key):
            continue
        options = dict(o.split("=", 1) for o in str(config[key]).split(",") if "=" in o)
        if "bridge" in options:
            tag = f"/{options['tag']}" if options.get("tag") else ""
            call.principal.require(f"/sdn/zones/localnetwork/{options['bridge']}{tag}", "SDN.Use")


def require_config_privileges(call: Call, vmid: int, kind: str, params: dict[str, Any]) -> None:
    """Each changed key needs its own privilege, whatever the route's "any" check let through."""
    for key in sorted(params):
        if key in CONTROL:
            continue
        if is_disk_key(kind, key):
            privilege = "VM.Config.CDROM" if "media=cdrom" in str(params[key]) else "VM.Config.Disk"
        else:
            privilege = next((p for pattern, p in _CONFIG_PRIVILEGES if pattern.match(key)), "VM.Config.Options")
        call.principal.require(f"/vms/{vmid}", privilege)


def paths(suffix: str) -> tuple[str, ...]:
    return tuple(f"/nodes/{{node}}/{kind}{suffix}" for kind in KINDS)


def kind_of(call: Call) -> str:
    return call.template.split("/")[3]


def task_type(kind: str, action: str) -> str:
    return ("qm" if kind == "qemu" else "vz") + action


def coerce(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Form values as PVE stores them: integers and booleans as numbers."""
    out = {}
    for key, value in params.items():
        kind = (call.method.property_for(key) or {}).get("type")
        if kind == "integer":
            out[key] = int(value)
        elif kind == "boolean":
            out[key] = 1 if str(value).lower() in ("1", "true", "yes", "on") else 0
        else:
            out[key] = value
    return out


def normalize_tags(value: str) -> str:
    """PVE splits tags on ``;``, ``,`` and spaces and stores them ``;``-joined."""
    parts = [t for t in value.replace(",", ";").replace(" ", ";").split(";") if t]
    return ";".join(dict.fromkeys(parts))


def apply_changes(call: Call, vmid: int, guest: dict[str, Any], params: dict[str, Any]) -> None:
    """Write config parameters (allocating new volumes) and ``delete`` keys."""
    config = guest["config"]
    used = volume_names(config)
    for key, value in coerce(call, params).items():
        if key in CONTROL:
            continue
        if is_disk_key(guest["type"], key):
            value = allocate_disk(call.sim.state.data, vmid, key, str(value), used)
            if key in config and disk_parts(config[key])[0] != disk_parts(value)[0]:
                keep_unused(config, config[key])
        if key == "tags":
            value = normalize_tags(str(value))
        if guest["type"] == "qemu" and key.startswith("net") and "=" not in str(value).split(",")[0]:
            model, *rest = str(value).split(",")  # PVE gives a new NIC a MAC address
            value = ",".join([f"{model}={mac_for(vmid, int(key[3:]))}", *rest])
        config[key] = value
    for key in (call.get("delete") or "").split(","):
        config.pop(key.strip(), None)


def keep_unused(config: dict[str, Any], old_value: str) -> None:
    """The replaced volume stays, as ``unusedN`` (vmconfig_register_unused_drive)."""
    index = 0
    while f"unused{index}" in config:
        index += 1
    config[f"unused{index}"] = disk_parts(old_value)[0]


def apply_pending(guest: dict[str, Any]) -> None:
    """vmconfig_apply_pending: what waited for the VM to start takes effect."""
    guest["config"].update(guest.pop("pending", {}))


def require_allocate(call: Call, vmid: int, kind: str) -> None:
    call.principal.require(f"/vms/{vmid}", "VM.Allocate")
    for storage in sorted(disk_storages(kind, call.params)):
        call.principal.require(f"/storage/{storage}", "Datastore.AllocateSpace")


def online_node(call: Call, node: str) -> None:
    call.sim.state.node_exists(node)
    if call.sim.faults.is_offline(node):
        raise SimError(f"target node '{node}' is not online")


@route("GET", *paths(""))
def list_guests(call: Call) -> list[dict[str, Any]]:
    kind, node, data = kind_of(call), call["node"], call.sim.state.data
    call.sim.state.node_exists(node)
    return [
        {k: v for k, v in guest_resource(call.sim, int(vmid), g, data["ha"]["resources"]).items() if k not in ("id", "type", "node")}
        for vmid, g in sorted(data["guests"].items(), key=lambda i: int(i[0]))
        if g["type"] == kind and g["node"] == node and call.principal.has("VM.Audit")
    ]


@route("POST", *paths(""))
def create(call: Call) -> str:
    kind, node, vmid = kind_of(call), call["node"], int(call["vmid"])
    state = call.sim.state
    require_allocate(call, vmid, kind)
    online_node(call, node)
    state.check_vmid_unused(vmid, kind)
    require_bridge_access(call, call.params)
    archive = restore_archive(call, kind, node)
    if archive is None and kind == "lxc" and call["ostemplate"] not in state.data["vztmpl"].get(node, []):  # node-local storage
        raise SimError(f"volume '{call['ostemplate']}' does not exist")
    guest = {"type": kind, "node": node, "status": "stopped", "config": {"lock": "create"}}
    if archive is not None:
        guest["config"] = {**restored_config(call, kind, node, vmid, archive), "lock": "create"}
        guest.update(guest_agent.handed_on(archive))
    state.data["guests"][str(vmid)] = guest
    apply_changes(call, vmid, guest, call.params)
    guest["config"]["lock"] = "create"
    state.save()

    def work() -> None:
        guest["config"].pop("lock", None)
        if call.flag("start"):
            guest["status"] = "running"

    action = "create" if archive is None else "restore"  # qmrestore / vzrestore
    return call.sim.tasks.start(node, task_type(kind, action), vmid, call.principal.name, work, cleanup=lambda: state.data["guests"].pop(str(vmid), None))


@route("POST", *paths("/{vmid}/clone"))
def clone(call: Call) -> str:
    """clone_vm: checks at request time (``$load_and_check``), then in the ``qmclone``
    worker the same checks again and the placeholder config; the disks are copied while
    the task runs, and a failure removes what the worker made."""
    kind, node, vmid, newid = kind_of(call), call["node"], int(call["vmid"]), int(call["newid"])
    state = call.sim.state
    source = state.guest(vmid, kind, node)
    target = call.get("target", node)
    online_node(call, target)
    storage = call.get("storage")
    if storage:
        call.principal.require(f"/storage/{storage}", "Datastore.AllocateSpace")
    require_bridge_access(call, source["config"])
    if target != node and not shared_disks(state.data, source["config"], kind):
        raise SimError(f"can't clone VM to node '{target}' (VM uses local storage)")
    if storage and target != node and not state.data["storage"].get(storage, {}).get("shared"):
        raise SimError(f"can't clone to non-shared storage '{storage}'")

    def checks() -> None:
        check_lock(call.sim, vmid, source)
        if str(newid) in state.data["guests"]:
            raise SimError(f"unable to create VM {newid}: config file already exists")

    checks()
    config = {k: v for k, v in copy.deepcopy(source["config"]).items() if k not in ("template", "lock", "tags")}
    config["name" if kind == "qemu" else "hostname"] = call.get("name" if kind == "qemu" else "hostname") or f"Copy-of-VM-{config.get('name', vmid)}"
    if call.get("description"):
        config["description"] = call["description"]
    for key, value in list(config.items()):
        if is_disk_key(kind, key) or key == "ide2":
            volume, options = disk_parts(value)
            store = storage or volume.partition(":")[0]
            suffix = "cloudinit" if options.get("media") == "cdrom" else f"disk-{key[-1]}"
            config[key] = disk_value(f"{store}:vm-{newid}-{suffix}", options)
        elif key.startswith("net") and kind == "qemu":
            model = value.split(",")[0].split("=")[0]
            config[key] = ",".join([f"{model}={mac_for(newid, int(key[3:]))}", *value.split(",")[1:]])
    guest = {"type": kind, "node": node, "status": "stopped", "config": {"lock": "clone"}}

    def placeholder() -> None:
        checks()
        state.data["guests"][str(newid)] = guest

    def work() -> None:
        guest["config"] = config
        guest["node"] = target

    return call.sim.tasks.start(node, task_type(kind, "clone"), vmid, call.principal.name, work, begin=placeholder,
                                cleanup=lambda: state.data["guests"].pop(str(newid), None))


@route("GET", *paths("/{vmid}/config"))
def get_config(call: Call) -> dict[str, Any]:
    guest = call.sim.state.guest(call["vmid"], kind_of(call), call["node"])
    return {**guest["config"], "digest": config_digest(guest["config"])}


def _update(call: Call) -> dict[str, Any]:
    """The config PUT as update_vm_api runs it: checks, then new volumes allocated while the
    request waits holding the config's file lock (others get ``can't lock file``), then the
    write; a running VM keeps what it cannot hot-plug as pending."""
    kind, vmid, state = kind_of(call), int(call["vmid"]), call.sim.state
    with state.lock:
        guest = state.guest(vmid, kind, call["node"])
        if call.get("digest") and call["digest"] != config_digest(guest["config"]):
            raise SimError("detected modified configuration - file changed by other user? Try again.")
        check_lock(call.sim, vmid, guest, call.flag("skiplock"))
        require_config_privileges(call, vmid, kind, {**call.params, **{k: "" for k in (call.get("delete") or "").split(",") if k}})
        require_bridge_access(call, call.params)
        check_existing_volumes(state.data, guest, call.params)
        storages = disk_storages(kind, call.params)
        for storage in sorted(storages):
            call.principal.require(f"/storage/{storage}", "Datastore.AllocateSpace")
        seconds = call.sim.faults.take_slow_allocation(storages)
        state.busy.add(vmid)
    try:
        if seconds:
            time.sleep(seconds)
    finally:
        with state.lock:
            state.busy.discard(vmid)
    with state.lock:
        guest = state.guest(vmid, kind, call["node"])
        params = call.params
        if kind == "qemu" and guest["status"] == "running":
            later = {k: v for k, v in coerce(call, params).items() if k not in CONTROL and not hot_pluggable(k)}
            waiting = {**guest.get("pending", {}), **later}
            # update_vm_api → cleanup_pending: a pending value equal to the running one is dropped
            guest["pending"] = {k: v for k, v in waiting.items() if str(guest["config"].get(k)) != str(v)}
            params = {k: v for k, v in params.items() if k not in later}
        apply_changes(call, vmid, guest, params)
        state.save()
        return guest


@route("PUT", *paths("/{vmid}/config"), locks_itself=True)
def put_config(call: Call) -> None:
    _update(call)


@route("GET", "/nodes/{node}/qemu/{vmid}/pending")
def pending(call: Call) -> list[dict[str, Any]]:
    """Each key with its current value and, if it waits for a restart, its pending one."""
    guest = call.sim.state.guest(call["vmid"], "qemu", call["node"])
    waiting = guest.get("pending", {})
    out = []
    for key in sorted({*guest["config"], *waiting} - {"lock"}):
        entry: dict[str, Any] = {"key": key}
        if key in guest["config"]:
            entry["value"] = str(guest["config"][key])
        if key in waiting:
            entry["pending"] = str(waiting[key])
        out.append(entry)
    return out


@route("POST", "/nodes/{node}/qemu/{vmid}/config", locks_itself=True)
def post_config(call: Call) -> str:
    _update(call)
    return call.sim.tasks.start(call["node"], "qmconfig", call["vmid"], call.principal.name, lambda: None, duration_s=0)


@route("GET", *paths("/{vmid}/status/current"))
def current(call: Call) -> dict[str, Any]:
    guest = call.sim.state.guest(call["vmid"], kind_of(call), call["node"])
    entry = guest_resource(call.sim, int(call["vmid"]), guest, call.sim.state.data["ha"]["resources"])
    return {k: v for k, v in entry.items() if k not in ("id", "type", "node")}


def _power(call: Call, action: str, status: str) -> str:
    """Power actions check the lock inside their worker (vm_start, vm_stop and vm_reboot
    take lock_config there): a held lock is the task's exit status. A start, and the start
    half of a reboot, apply pending changes (vmconfig_apply_pending)."""
    kind, vmid = kind_of(call), int(call["vmid"])
    guest = call.sim.state.guest(vmid, kind, call["node"])
    if action == "start" and guest["status"] == "running":
        raise SimError(f"{label(kind)} {vmid} already running")
    if action == "reboot" and guest["status"] != "running":
        raise SimError(f"VM {vmid} not running")
    if action in ("start", "stop", "shutdown") and ha_managed(call, vmid, kind):
        return ha_request(call, vmid, kind, f"ha{action if action != 'shutdown' else 'stop'}",
                          state="started" if action == "start" else "stopped")

    def locked() -> None:
        check_lock(call.sim, vmid, guest, call.flag("skiplock"))

    def work() -> None:
        if status == "running":
            apply_pending(guest)
        else:
            guest_agent.stop_guest(call.sim.state.name, vmid)
        guest["status"] = status

    return call.sim.tasks.start(call["node"], task_type(kind, action), vmid, call.principal.name, work, begin=locked)


@route("POST", *paths("/{vmid}/status/start"))
def start(call: Call) -> str:
    return _power(call, "start", "running")


@route("POST", *paths("/{vmid}/status/stop"))
def stop(call: Call) -> str:
    return _power(call, "stop", "stopped")


@route("POST", *paths("/{vmid}/status/shutdown"))
def shutdown(call: Call) -> str:
    return _power(call, "shutdown", "stopped")


@route("POST", *paths("/{vmid}/status/reboot"))
def reboot(call: Call) -> str:
    return _power(call, "reboot", "running")


def ha_managed(call: Call, vmid: int, kind: str) -> bool:
    return f"{'ct' if kind == 'lxc' else 'vm'}:{vmid}" in call.sim.state.data["ha"]["resources"]


def ha_request(call: Call, vmid: int, kind: str, task: str, **request: str) -> str:
    """An HA-managed guest is started or migrated by the HA manager: the API only queues
    the request in an ``ha*`` task that ends OK at once (Qemu.pm ``hastart``/``hamigrate``
    run ``ha-manager set|migrate``); the guest moves later, or never if a rule blocks it."""
    sid = f"{'ct' if kind == 'lxc' else 'vm'}:{vmid}"

    def queue() -> None:
        if "state" in request:
            call.sim.state.data["ha"]["resources"][sid]["state"] = request["state"]
        if "node" in request:
            call.sim.state.data["ha"].setdefault("requests", {})[sid] = request["node"]

    return call.sim.tasks.start(call["node"], task, vmid, call.principal.name, queue, duration_s=0)


@route("POST", *paths("/{vmid}/migrate"))
def migrate(call: Call) -> str:
    kind, node, vmid, target = kind_of(call), call["node"], int(call["vmid"]), call["target"]
    guest = call.sim.state.guest(vmid, kind, node)
    if target == node:
        raise SimError("target is local node.")
    online_node(call, target)
    check_lock(call.sim, vmid, guest)
    if ha_managed(call, vmid, kind):
        return ha_request(call, vmid, kind, "hamigrate", node=target)
    if guest["status"] == "running":
        if kind == "qemu" and not call.flag("online"):
            raise SimError("can't migrate running VM without --online")
        if kind == "lxc" and not call.flag("restart"):
            raise SimError("CT is running - use online migration or restart mode")
    guest["config"]["lock"] = "migrate"
    call.sim.state.save()

    def work() -> None:
        guest["config"].pop("lock", None)
        guest["node"] = target

    return call.sim.tasks.start(node, "qmigrate" if kind == "qemu" else "vzmigrate", vmid, call.principal.name,
                                work, cleanup=lambda: guest["config"].pop("lock", None))


@route("PUT", *paths("/{vmid}/resize"))
def resize(call: Call) -> str:
    kind, vmid, disk = kind_of(call), int(call["vmid"]), call["disk"]
    guest = call.sim.state.guest(vmid, kind, call["node"])
    if disk not in guest["config"]:
        raise SimError(f"disk '{disk}' does not exist")
    volume, options = disk_parts(guest["config"][disk])
    old = parse_size(options.get("size", "0"))
    wanted = str(call["size"])
    new = old + parse_size(wanted[1:]) if wanted.startswith("+") else parse_size(wanted)
    if new < old:
        raise SimError("shrinking disks is not supported")

    def locked() -> None:  # resize_vm's $updatefn runs in the worker
        check_lock(call.sim, vmid, guest, call.flag("skiplock"))

    def work() -> None:
        options["size"] = format_size(new)
        guest["config"][disk] = disk_value(volume, options)

    return call.sim.tasks.start(call["node"], "resize", vmid, call.principal.name, work, begin=locked)


@route("DELETE", *paths("/{vmid}"))
def destroy(call: Call) -> str:
    """destroy_vm: early checks at request time; the lock is checked by QemuServer::destroy_vm
    inside the ``qmdestroy`` worker."""
    kind, vmid = kind_of(call), int(call["vmid"])
    state = call.sim.state
    guest = state.guest(vmid, kind, call["node"])
    if guest["status"] == "running":
        raise SimError(f"{label(kind)} {vmid} is running - destroy failed")
    sid = f"{'ct' if kind == 'lxc' else 'vm'}:{vmid}"
    if sid in state.data["ha"]["resources"] and not call.flag("purge"):
        raise SimError(f"unable to remove {label(kind)} {vmid} - used in HA resources and purge parameter not set.")

    def begin() -> None:
        check_lock(call.sim, vmid, guest, call.flag("skiplock"))
        guest["config"]["lock"] = "destroyed"

    def work() -> None:
        state.data["guests"].pop(str(vmid), None)
        if call.flag("purge"):  # and out of the backup jobs (VZDump::Plugin::remove_vmid_from_backup_jobs)
            state.data["ha"]["resources"].pop(sid, None)
            drop_from_rules(state.data, sid)
            for job in state.data.get("backup_jobs", {}).values():
                if job.get("vmid"):
                    job["vmid"] = ",".join(v for v in str(job["vmid"]).split(",") if v.strip() != str(vmid))

    return call.sim.tasks.start(call["node"], task_type(kind, "destroy"), vmid, call.principal.name, work, begin=begin,
                                cleanup=lambda: guest["config"].pop("lock", None))
