"""Cluster-wide and node routes: resources, next id, HA, nodes, storage, tasks, version,
the caller's permissions."""

from __future__ import annotations

from typing import Any

from hatang.lab.pvesim.api_backup import backup_volumes
from hatang.lab.pvesim.guests import disk_volumes, guest_resource
from hatang.lab.pvesim.ha import blocking
from hatang.lab.pvesim.routes import Call, route
from hatang.lab.pvesim.store import SimError, config_digest

PVE_VERSION = {"version": "9.1.3", "release": "9.1", "repoid": "hatang-pvesim"}


@route("GET", "/version")
def version(call: Call) -> dict[str, str]:
    return PVE_VERSION


@route("GET", "/access/permissions")
def permissions(call: Call) -> dict[str, dict[str, int]]:
    """The caller's effective privileges on ``path``, or on every path its ACL names."""
    paths = [call["path"]] if call.get("path") else [path for path, _ in call.principal.acl]
    return {path: {privilege: 1 for privilege in sorted(call.principal.privileges_at(path))} for path in paths}


@route("GET", "/cluster/resources")
def resources(call: Call) -> list[dict[str, Any]]:
    sim, principal, wanted = call.sim, call.principal, call.get("type")
    data = sim.state.data
    out: list[dict[str, Any]] = []
    if wanted in (None, "node") and principal.has("Sys.Audit"):
        out += [node_entry(call, name) for name in sorted(data["nodes"])]
    if wanted in (None, "vm") and principal.has("VM.Audit"):
        ha = data["ha"]["resources"]
        for vmid in sorted(data["guests"], key=int):
            out.append(guest_resource(sim, int(vmid), data["guests"][vmid], ha))
    if wanted in (None, "storage") and principal.has("Datastore.Audit"):
        for node in sorted(data["nodes"]):
            out += [storage_entry(call, node, name, kind="resource") for name in sorted(data["storage"])]
    return out


def node_entry(call: Call, name: str) -> dict[str, Any]:
    node = call.sim.state.data["nodes"][name]
    online = not call.sim.faults.is_offline(name)
    used = sum(
        int(str(g["config"].get("memory", 512)).split(",")[0]) * 1024**2
        for g in call.sim.state.data["guests"].values()
        if g["node"] == name and g["status"] == "running"
    )
    entry = {"id": f"node/{name}", "type": "node", "node": name, "status": "online" if online else "offline",
             "maxcpu": node["maxcpu"], "maxmem": node["maxmem"], "level": ""}
    if online:
        entry.update({"mem": used, "cpu": 0.01, "uptime": 86400, "disk": 0, "maxdisk": 100 * 1024**3})
    return entry


def storage_entry(call: Call, node: str, name: str, *, kind: str) -> dict[str, Any]:
    store = call.sim.state.data["storage"][name]
    used = sum(size for storage, size in disk_volumes(call.sim.state.data, node) if storage == name)
    common = {"storage": name, "content": store["content"], "shared": store["shared"]}
    if kind == "resource":
        return {"id": f"storage/{node}/{name}", "type": "storage", "node": node, "plugintype": store["type"],
                "status": "unknown" if call.sim.faults.is_offline(node) else "available",
                "maxdisk": store["total"], "disk": used, **common}
    return {"type": store["type"], "active": 1, "enabled": 1, "total": store["total"], "used": used,
            "avail": store["total"] - used, "used_fraction": used / store["total"] if store["total"] else 0, **common}


@route("GET", "/cluster/nextid")
def nextid(call: Call) -> int:
    state = call.sim.state
    if call.get("vmid") is not None:
        vmid = int(call["vmid"])
        if str(vmid) in state.data["guests"]:
            raise SimError("Parameter verification failed.", 400, {"vmid": f"VM {vmid} already exists"})
        return vmid
    return state.next_free_vmid()


@route("GET", "/nodes")
def nodes(call: Call) -> list[dict[str, Any]]:
    return [node_entry(call, name) for name in sorted(call.sim.state.data["nodes"])]


@route("GET", "/nodes/{node}/storage")
def node_storage(call: Call) -> list[dict[str, Any]]:
    call.sim.state.node_exists(call["node"])
    wanted = call.get("content")
    out = []
    for name, store in sorted(call.sim.state.data["storage"].items()):
        allowed = call.principal.has("Datastore.Audit") or call.principal.has("Datastore.AllocateSpace")
        if allowed and (wanted is None or wanted in store["content"].split(",")):
            out.append(storage_entry(call, call["node"], name, kind="node"))
    return out


@route("GET", "/nodes/{node}/storage/{storage}/content")
def storage_content(call: Call) -> list[dict[str, Any]]:
    node, storage = call["node"], call["storage"]
    call.sim.state.node_exists(node)
    if storage not in call.sim.state.data["storage"]:
        raise SimError(f"storage '{storage}' does not exist")
    call.principal.require(f"/storage/{storage}", "Datastore.Audit", "Datastore.AllocateSpace", any_of=True)
    wanted = call.get("content")
    out = []
    if wanted in (None, "backup"):
        out += backup_volumes(call.sim.state.data, storage, node)
    if wanted in (None, "vztmpl"):
        out += [{"volid": v, "content": "vztmpl", "format": "tzst", "size": 123 * 1024**2}
                for v in call.sim.state.data["vztmpl"].get(node, []) if v.startswith(f"{storage}:")]
    return out


@route("DELETE", "/nodes/{node}/storage/{storage}/content/{volume}")
def delete_volume(call: Call) -> None:
    """Remove a container template from one node's storage (as ``pveam remove``)."""
    node, volume = call["node"], call["volume"]
    call.sim.state.node_exists(node)
    volid = volume if ":" in volume else f"{call['storage']}:{volume}"
    call.principal.require(f"/storage/{call['storage']}", "Datastore.Allocate")
    held = call.sim.state.data["vztmpl"].get(node, [])
    if volid not in held:
        raise SimError(f"volume '{volid}' does not exist")
    held.remove(volid)
    call.sim.state.save()


@route("GET", "/nodes/{node}/tasks/{upid}/status")
def task_status(call: Call) -> dict[str, Any]:
    task = call.sim.tasks.get(call["node"], call["upid"])
    if task.user != call.principal.name:
        call.principal.require(f"/nodes/{call['node']}", "Sys.Audit")
    return task.as_status()


@route("GET", "/nodes/{node}/tasks/{upid}/log")
def task_log(call: Call) -> list[dict[str, Any]]:
    task = call.sim.tasks.get(call["node"], call["upid"])
    if task.user != call.principal.name:
        call.principal.require(f"/nodes/{call['node']}", "Sys.Audit")
    return [{"n": i + 1, "t": line} for i, line in enumerate(task.log)]


# --- HA -------------------------------------------------------------------------------


def _sid(value: str) -> str:
    """``105`` → ``vm:105``; ``ct:105`` stays."""
    return value if ":" in value else f"vm:{value}"


@route("GET", "/cluster/ha/resources")
def ha_resources(call: Call) -> list[dict[str, Any]]:
    wanted = call.get("type")
    return [
        {"sid": sid, "type": sid.split(":")[0], **conf, "digest": config_digest(conf)}
        for sid, conf in sorted(call.sim.state.data["ha"]["resources"].items())
        if wanted in (None, sid.split(":")[0])
    ]


@route("POST", "/cluster/ha/resources")
def ha_resource_add(call: Call) -> None:
    sid = _sid(call["sid"])
    kind, _, vmid = sid.partition(":")
    state = call.sim.state
    guest = state.data["guests"].get(vmid)
    if guest is None or {"vm": "qemu", "ct": "lxc"}.get(kind) != guest["type"]:
        raise SimError(f"unable to find {'VM' if kind == 'vm' else 'CT'} '{vmid}'")
    if sid in state.data["ha"]["resources"]:
        raise SimError(f"resource ID '{sid}' already defined")
    conf = {"state": call.get("state", "started"), "max_restart": int(call.get("max_restart", 1)),
            "max_relocate": int(call.get("max_relocate", 1)), "failback": int(call.flag("failback") if "failback" in call.params else 1)}
    if call.get("comment"):
        conf["comment"] = call["comment"]
    state.data["ha"]["resources"][sid] = conf
    state.save()


@route("PUT", "/cluster/ha/resources/{sid}")
def ha_resource_update(call: Call) -> None:
    sid = _sid(call["sid"])
    conf = call.sim.state.data["ha"]["resources"].get(sid)
    if conf is None:
        raise SimError(f"no such resource '{sid}'")
    for key in ("state", "comment"):
        if key in call.params:
            conf[key] = call[key]
    for key in ("max_restart", "max_relocate"):
        if key in call.params:
            conf[key] = int(call[key])
    for key in (call.get("delete") or "").split(","):
        conf.pop(key.strip(), None)
    call.sim.state.save()


@route("DELETE", "/cluster/ha/resources/{sid}")
def ha_resource_delete(call: Call) -> None:
    sid = _sid(call["sid"])
    state = call.sim.state
    if state.data["ha"]["resources"].pop(sid, None) is None:
        raise SimError(f"cannot delete service '{sid}', not HA managed!")
    state.data["ha"].get("requests", {}).pop(sid, None)
    drop_from_rules(state.data, sid)
    state.save()


def drop_from_rules(data: dict[str, Any], sid: str) -> None:
    """Remove a resource from every HA rule (PVE drops a rule left with none)."""
    rules = data["ha"]["rules"]
    for name in list(rules):
        members = [r for r in rules[name]["resources"].split(",") if r != sid]
        if members:
            rules[name]["resources"] = ",".join(members)
        else:
            del rules[name]


@route("POST", "/cluster/ha/resources/{sid}/migrate")
def ha_resource_migrate(call: Call) -> dict[str, Any]:
    """Queue the migration for the HA manager and name what would block it
    (pve-ha-manager src/PVE/API2/HA/Resources.pm ``migrate``)."""
    sid = _sid(call["sid"])
    state = call.sim.state
    if sid not in state.data["ha"]["resources"]:
        raise SimError(f"service '{sid}' not managed by ha")
    state.node_exists(call["node"])
    state.data["ha"].setdefault("requests", {})[sid] = call["node"]
    state.save()
    answer: dict[str, Any] = {"sid": sid, "requested-node": call["node"]}
    blocker = blocking(state.data, sid).get(call["node"])
    if blocker:
        answer["blocking-resources"] = [{"sid": blocker, "cause": "resource-affinity"}]
    return answer


@route("GET", "/cluster/ha/rules")
def ha_rules(call: Call) -> list[dict[str, Any]]:
    wanted_type, wanted_resource = call.get("type"), call.get("resource")
    out = []
    for order, (name, conf) in enumerate(sorted(call.sim.state.data["ha"]["rules"].items()), start=1):
        if wanted_type not in (None, conf["type"]):
            continue
        if wanted_resource is not None and _sid(wanted_resource) not in conf["resources"].split(","):
            continue
        out.append({"rule": name, **conf, "order": order, "digest": config_digest(conf)})
    return out


def _rule_conf(call: Call, base: dict[str, Any]) -> dict[str, Any]:
    conf = dict(base)
    for key in ("type", "affinity", "nodes", "comment", "strict", "disable"):
        if key in call.params:
            conf[key] = call[key]
    if "resources" in call.params:
        sids = [_sid(s.strip()) for s in call["resources"].split(",") if s.strip()]
        unknown = [s for s in sids if s not in call.sim.state.data["ha"]["resources"]]
        if unknown:
            raise SimError("Parameter verification failed.", 400, {"resources": f"HA resource '{unknown[0]}' does not exist"})
        conf["resources"] = ",".join(sids)
    for key in (call.get("delete") or "").split(","):
        conf.pop(key.strip(), None)
    if conf.get("type") == "resource-affinity" and "affinity" not in conf:
        raise SimError("Parameter verification failed.", 400, {"affinity": "property is missing and it is not optional"})
    return conf


@route("POST", "/cluster/ha/rules")
def ha_rule_add(call: Call) -> None:
    rules = call.sim.state.data["ha"]["rules"]
    if call["rule"] in rules:
        raise SimError(f"HA rule '{call['rule']}' already defined")
    rules[call["rule"]] = _rule_conf(call, {})
    call.sim.state.save()


@route("PUT", "/cluster/ha/rules/{rule}")
def ha_rule_update(call: Call) -> None:
    rules = call.sim.state.data["ha"]["rules"]
    if call["rule"] not in rules:
        raise SimError(f"no such HA rule '{call['rule']}'")
    if call.get("digest") and call["digest"] != config_digest(rules[call["rule"]]):
        raise SimError("detected modified configuration - file changed by other user? Try again.")
    rules[call["rule"]] = _rule_conf(call, rules[call["rule"]])
    call.sim.state.save()


@route("DELETE", "/cluster/ha/rules/{rule}")
def ha_rule_delete(call: Call) -> None:
    if call.sim.state.data["ha"]["rules"].pop(call["rule"], None) is None:
        raise SimError(f"no such HA rule '{call['rule']}'")
    call.sim.state.save()
