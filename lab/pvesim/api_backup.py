"""Backup jobs (``/cluster/backup``) and the guests no job covers.

As pve-manager's src/PVE/API2/Backup.pm: jobs live in ``jobs.cfg`` keyed by ``id``
(generated ``backup-<8 hex>`` when none is given), a duplicate id is refused, a job
names its guests by ``vmid`` list, by ``all`` (minus ``exclude``) or by ``pool``;
``/cluster/backup-info/not-backed-up`` lists the guests no enabled job covers
(src/PVE/API2/BackupInfo.pm). A backup run is ``POST /nodes/{node}/vzdump`` (a task,
the guests locked ``backup`` meanwhile, archives in the storage's content); the
scheduler that starts jobs on their calendar is not simulated (stated): a run is forced.
Prune (``/nodes/{node}/storage/{storage}/prunebackups``, GET a dry run, DELETE a task)
marks per guest as pve-storage does (hatang.cloud.prune); vzdump does not prune by itself.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from hatang.cloud.prune import kept, parse_keep
from hatang.lab.pvesim import guest_agent
from hatang.lab.pvesim.api_restore import check_available
from hatang.lab.pvesim.guests import backed_up_size, check_lock, disk_volumes
from hatang.lab.pvesim.routes import Call, route
from hatang.lab.pvesim.store import SimError

STEERING = {"id", "delete", "digest"}


def _jobs(call: Call) -> dict[str, dict[str, Any]]:
    return call.sim.state.data.setdefault("backup_jobs", {})


def _values(call: Call) -> dict[str, Any]:
    return {k: v for k, v in call.params.items() if k not in STEERING}


@route("GET", "/cluster/backup")
def list_jobs(call: Call) -> list[dict[str, Any]]:
    return [{"id": job_id, "type": "vzdump", **job} for job_id, job in sorted(_jobs(call).items())]


@route("POST", "/cluster/backup")
def create_job(call: Call) -> None:
    jobs = _jobs(call)
    job_id = call.get("id") or f"backup-{secrets.token_hex(4)}"
    if job_id in jobs:
        raise SimError(f"Job '{job_id}' already exists")
    values = _values(call)
    if not (values.get("vmid") or call.flag("all") or values.get("pool")):
        raise SimError("Parameter verification failed.", 400, {"vmid": "one of 'vmid', 'all' or 'pool' is required"})
    if values.get("storage") and values["storage"] not in call.sim.state.data["storage"]:
        raise SimError(f"storage '{values['storage']}' does not exist")
    jobs[job_id] = {"enabled": 1, **values}
    call.sim.state.save()


def _job(call: Call) -> dict[str, Any]:
    job = _jobs(call).get(call["id"])
    if job is None:
        raise SimError(f"job '{call['id']}' does not exist", 404)
    return job


@route("GET", "/cluster/backup/{id}")
def read_job(call: Call) -> dict[str, Any]:
    return {"id": call["id"], "type": "vzdump", **_job(call)}


@route("PUT", "/cluster/backup/{id}")
def update_job(call: Call) -> None:
    job = _job(call)
    job.update(_values(call))
    for key in (call.get("delete") or "").split(","):
        job.pop(key.strip(), None)
    call.sim.state.save()


@route("DELETE", "/cluster/backup/{id}")
def delete_job(call: Call) -> None:
    _job(call)
    del _jobs(call)[call["id"]]
    call.sim.state.save()


def covered(data: dict[str, Any]) -> set[int]:
    """The guest ids some enabled job backs up."""
    guests = {int(v) for v, g in data["guests"].items() if not g["config"].get("template")}
    out: set[int] = set()
    for job in data.get("backup_jobs", {}).values():
        if str(job.get("enabled", 1)) in ("0", "false"):
            continue
        listed = {int(v) for v in str(job.get("vmid") or "").replace(";", ",").split(",") if v.strip()}
        if str(job.get("all", 0)) in ("1", "true"):
            excluded = {int(v) for v in str(job.get("exclude") or "").replace(";", ",").split(",") if v.strip()}
            listed = guests - excluded
        out |= listed
    return out


@route("GET", "/cluster/backup-info/not-backed-up")
def not_backed_up(call: Call) -> list[dict[str, Any]]:
    data = call.sim.state.data
    done = covered(data)
    return [{"vmid": int(vmid), "type": g["type"], "name": g["config"].get("name") or g["config"].get("hostname", "")}
            for vmid, g in sorted(data["guests"].items(), key=lambda i: int(i[0]))
            if not g["config"].get("template") and int(vmid) not in done]


@route("POST", "/nodes/{node}/vzdump")
def vzdump(call: Call) -> str:
    """A backup run on one node (pve-manager's API2/VZDump.pm → PVE::VZDump): the guests
    named (or all) that run on this node, each locked ``backup`` while it is copied, one
    archive per guest in the storage's content; a storage without room fails the task."""
    node, state = call["node"], call.sim.state
    state.node_exists(node)
    storage = call.get("storage") or ""
    check_available(state.data, storage, node)
    store = state.data["storage"][storage]
    if "backup" not in store["content"].split(","):
        raise SimError(f"storage '{storage}' does not support backups")
    call.principal.require(f"/storage/{storage}", "Datastore.AllocateSpace")
    wanted = {int(v) for v in str(call.get("vmid") or "").replace(";", ",").split(",") if v.strip()}
    guests = {int(v): g for v, g in state.data["guests"].items() if g["node"] == node and not g["config"].get("template")
              and (call.flag("all") or int(v) in wanted)}
    for vmid in sorted(guests):
        call.principal.require(f"/vms/{vmid}", "VM.Backup")

    def begin() -> None:
        for vmid, guest in sorted(guests.items()):
            check_lock(call.sim, vmid, guest)
        for guest in guests.values():
            guest["config"]["lock"] = "backup"

    def unlock() -> None:
        for guest in guests.values():
            if guest["config"].get("lock") == "backup":
                guest["config"].pop("lock")

    def work() -> None:
        unlock()
        archives = state.data.setdefault("backups", [])
        used = sum(a["size"] for a in archives if a["storage"] == storage)
        used += sum(size for name, size in disk_volumes(state.data, node) if name == storage)
        now = int(time.time())
        for vmid, guest in sorted(guests.items()):
            size = max(1, backed_up_size(guest) // 10)  # a compressed copy of mostly empty disks (backup=0 ones left out)
            if used + size > store["total"]:
                raise SimError(f"vzdump: {storage}: no space left on device (backup of {vmid} failed)")
            used += size
            kind = "qemu" if guest["type"] == "qemu" else "lxc"
            stamp = time.strftime("%Y_%m_%d-%H_%M_%S", time.gmtime(now))
            archives.append({"storage": storage, "node": node, "vmid": vmid, "ctime": now, "size": size,
                             "volid": f"{storage}:backup/vzdump-{kind}-{vmid}-{stamp}.{'vma' if kind == 'qemu' else 'tar'}.zst",
                             "format": "vma.zst" if kind == "qemu" else "tar.zst", "subtype": kind,
                             "notes": guest["config"].get("name") or guest["config"].get("hostname", ""),
                             "config": {k: v for k, v in guest["config"].items() if k != "lock"},
                             **guest_agent.capture(call, guest, vmid, stamp)})

    return call.sim.tasks.start(node, "vzdump", ",".join(map(str, sorted(guests))) or "", call.principal.name, work,
                                begin=begin, cleanup=unlock)


def backup_volumes(data: dict[str, Any], storage: str, node: str) -> list[dict[str, Any]]:
    """A storage's backup archives as its content listing shows them (shared: from any node)."""
    shared = data["storage"][storage]["shared"]
    return [{k: v for k, v in a.items() if k not in ("storage", "node", "config", "guest_fs")} | {"content": "backup"}
            for a in data.get("backups", []) if a["storage"] == storage and (shared or a["node"] == node)]


def _prune_plan(call: Call) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(listing with marks, archives to remove) of a storage's backups, per guest group, as
    pve-storage's API2/Storage/PruneBackups.pm: ``prune-backups`` given, else the
    storage's own (none here: keep all); ``type``/``vmid`` narrow the groups."""
    node, storage, data = call["node"], call["storage"], call.sim.state.data
    call.sim.state.node_exists(node)
    check_available(data, storage, node)
    keep = parse_keep(call.get("prune-backups") or "")
    vmid, kind = call.get("vmid"), call.get("type")
    archives = [a for a in data.get("backups", []) if a["storage"] == storage
                and (vmid is None or a["vmid"] == int(vmid)) and (kind is None or a["subtype"] == kind)]
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for archive in archives:
        groups.setdefault((archive["subtype"], archive["vmid"]), []).append(archive)
    listing, removed = [], []
    for group in groups.values():
        keeping = kept((a["ctime"] for a in group), keep)
        for archive in group:
            mark = "keep" if archive["ctime"] in keeping else "remove"
            listing.append({"volid": archive["volid"], "ctime": archive["ctime"], "type": archive["subtype"],
                            "vmid": archive["vmid"], "mark": mark})
            if mark == "remove":
                removed.append(archive)
    return sorted(listing, key=lambda e: (e["vmid"], -e["ctime"])), removed


@route("GET", "/nodes/{node}/storage/{storage}/prunebackups")
def prune_dry_run(call: Call) -> list[dict[str, Any]]:
    call.principal.require(f"/storage/{call['storage']}", "Datastore.Audit", "Datastore.AllocateSpace", any_of=True)
    return _prune_plan(call)[0]


@route("DELETE", "/nodes/{node}/storage/{storage}/prunebackups")
def prune(call: Call) -> str:
    """Removes what the dry run marks ``remove``, in a ``prunebackups`` task."""
    call.principal.require(f"/storage/{call['storage']}", "Datastore.Allocate")
    _, removed = _prune_plan(call)

    def work() -> None:
        volids = {a["volid"] for a in removed}
        guest_agent.discard(call, removed)
        call.sim.state.data["backups"] = [a for a in call.sim.state.data.get("backups", []) if a["volid"] not in volids]

    return call.sim.tasks.start(call["node"], "prunebackups", call["storage"], call.principal.name, work)
