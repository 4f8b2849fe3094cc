"""QEMU VMs and LXC containers: create, clone, config, power, migrate, resize, delete.

Both kinds share one set of handlers (``{kind}`` below); the differences PVE has
(``name`` vs ``hostname``, ``online`` vs ``restart``, task type prefixes ``qm``/``vz``)
are spelled out where they matter. Long operations run as tasks and hold the config lock
PVE holds meanwhile (``create``, ``clone``, ``migrate``).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from hatang.lab.pvesim.api_cluster import drop_from_rules
from hatang.lab.pvesim.guests import (
    allocate_disk, check_lock, disk_parts, disk_storages, disk_value, format_size, guest_resource,
    is_disk_key, label, parse_size, volume_names,
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
        if key == "tags":
            value = normalize_tags(str(value))
        if guest["type"] == "qemu" and key.startswith("net") and "=" not in str(value).split(",")[0]:
            model, *rest = str(value).split(",")  # PVE gives a new NIC a MAC address
            value = ",".join([f"{model}={mac_for(vmid, int(key[3:]))}", *rest])
        config[key] = value
    for key in (call.get("delete") or "").split(","):
        config.pop(key.strip(), None)


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
    if kind == "lxc" and call["ostemplate"] not in state.data["vztmpl"]:
        raise SimError(f"volume '{call['ostemplate']}' does not exist")
    guest = {"type": kind, "node": node, "status": "stopped", "config": {"lock": "create"}}
    state.data["guests"][str(vmid)] = guest
    apply_changes(call, vmid, guest, call.params)
    guest["config"]["lock"] = "create"
    state.save()

    def work() -> None:
        guest["config"].pop("lock", None)
        if call.flag("start"):
            guest["status"] = "running"

    return call.sim.tasks.start(node, task_type(kind, "create"), vmid, call.principal.name, work, cleanup=lambda: state.data["guests"].pop(str(vmid), None))


@route("POST", *paths("/{vmid}/clone"))
def clone(call: Call) -> str:
    kind, node, vmid, newid = kind_of(call), call["node"], int(call["vmid"]), int(call["newid"])
    state = call.sim.state
    source = state.guest(vmid, kind, node)
    target = call.get("target", node)
    online_node(call, target)
    storage = call.get("storage")
    if storage:
        call.principal.require(f"/storage/{storage}", "Datastore.AllocateSpace")
    if not source["config"].get("template"):
        check_lock(call.sim, vmid, source)
    state.check_vmid_unused(newid, kind)
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
    config["lock"] = "clone"
    guest = {"type": kind, "node": target, "status": "stopped", "config": config}
    state.data["guests"][str(newid)] = guest
    state.save()
    return call.sim.tasks.start(node, task_type(kind, "clone"), vmid, call.principal.name,
                                lambda: guest["config"].pop("lock", None),
                                cleanup=lambda: state.data["guests"].pop(str(newid), None))


@route("GET", *paths("/{vmid}/config"))
def get_config(call: Call) -> dict[str, Any]:
    guest = call.sim.state.guest(call["vmid"], kind_of(call), call["node"])
    return {**guest["config"], "digest": config_digest(guest["config"])}


def _update(call: Call) -> dict[str, Any]:
    kind, vmid = kind_of(call), int(call["vmid"])
    guest = call.sim.state.guest(vmid, kind, call["node"])
    if call.get("digest") and call["digest"] != config_digest(guest["config"]):
        raise SimError("detected modified configuration - file changed by other user? Try again.")
    check_lock(call.sim, vmid, guest, call.flag("skiplock"))
    require_config_privileges(call, vmid, kind, {**call.params, **{k: "" for k in (call.get("delete") or "").split(",") if k}})
    for storage in sorted(disk_storages(kind, call.params)):
        call.principal.require(f"/storage/{storage}", "Datastore.AllocateSpace")
    apply_changes(call, vmid, guest, call.params)
    call.sim.state.save()
    return guest


@route("PUT", *paths("/{vmid}/config"))
def put_config(call: Call) -> None:
    _update(call)


@route("POST", "/nodes/{node}/qemu/{vmid}/config")
def post_config(call: Call) -> str:
    _update(call)
    return call.sim.tasks.start(call["node"], "qmconfig", call["vmid"], call.principal.name, lambda: None, duration_s=0)


@route("GET", *paths("/{vmid}/status/current"))
def current(call: Call) -> dict[str, Any]:
    guest = call.sim.state.guest(call["vmid"], kind_of(call), call["node"])
    entry = guest_resource(call.sim, int(call["vmid"]), guest, call.sim.state.data["ha"]["resources"])
    return {k: v for k, v in entry.items() if k not in ("id", "type", "node")}


def _power(call: Call, action: str, status: str) -> str:
    kind, vmid = kind_of(call), int(call["vmid"])
    guest = call.sim.state.guest(vmid, kind, call["node"])
    check_lock(call.sim, vmid, guest, call.flag("skiplock"))
    if action == "start" and guest["status"] == "running":
        raise SimError(f"{label(kind)} {vmid} already running")

    def work() -> None:
        guest["status"] = status

    return call.sim.tasks.start(call["node"], task_type(kind, action), vmid, call.principal.name, work)


@route("POST", *paths("/{vmid}/status/start"))
def start(call: Call) -> str:
    return _power(call, "start", "running")


@route("POST", *paths("/{vmid}/status/stop"))
def stop(call: Call) -> str:
    return _power(call, "stop", "stopped")


@route("POST", *paths("/{vmid}/status/shutdown"))
def shutdown(call: Call) -> str:
    return _power(call, "shutdown", "stopped")


@route("POST", *paths("/{vmid}/migrate"))
def migrate(call: Call) -> str:
    kind, node, vmid, target = kind_of(call), call["node"], int(call["vmid"]), call["target"]
    guest = call.sim.state.guest(vmid, kind, node)
    if target == node:
        raise SimError("target is local node.")
    online_node(call, target)
    check_lock(call.sim, vmid, guest)
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
    check_lock(call.sim, vmid, guest, call.flag("skiplock"))
    if disk not in guest["config"]:
        raise SimError(f"disk '{disk}' does not exist")
    volume, options = disk_parts(guest["config"][disk])
    old = parse_size(options.get("size", "0"))
    wanted = str(call["size"])
    new = old + parse_size(wanted[1:]) if wanted.startswith("+") else parse_size(wanted)
    if new < old:
        raise SimError("shrinking disks is not supported")

    def work() -> None:
        options["size"] = format_size(new)
        guest["config"][disk] = disk_value(volume, options)

    return call.sim.tasks.start(call["node"], "resize", vmid, call.principal.name, work)


@route("DELETE", *paths("/{vmid}"))
def destroy(call: Call) -> str:
    kind, vmid = kind_of(call), int(call["vmid"])
    state = call.sim.state
    guest = state.guest(vmid, kind, call["node"])
    check_lock(call.sim, vmid, guest, call.flag("skiplock"))
    if guest["status"] == "running":
        raise SimError(f"{label(kind)} {vmid} is running - destroy failed")
    sid = f"{'ct' if kind == 'lxc' else 'vm'}:{vmid}"
    if sid in state.data["ha"]["resources"] and not call.flag("purge"):
        raise SimError(f"unable to remove {label(kind)} {vmid} - used in HA resources and purge parameter not set.")
    guest["config"]["lock"] = "destroyed"

    def work() -> None:
        state.data["guests"].pop(str(vmid), None)
        if call.flag("purge"):
            state.data["ha"]["resources"].pop(sid, None)
            drop_from_rules(state.data, sid)

    return call.sim.tasks.start(call["node"], task_type(kind, "destroy"), vmid, call.principal.name, work,
                                cleanup=lambda: guest["config"].pop("lock", None))
