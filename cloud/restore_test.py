"""``hatang cloud restore-test SERVICE``: prove a backup restores, and how long it takes.

The newest backup of one guest of the service is restored to a fresh VM id on a chosen
node, renamed ``rt-<guest>``, tagged ``hatang-restore-test`` (never ``hatang``: a plan
never mistakes it for the production guest), with new MAC addresses (``unique``), not
started at boot, and its NICs removed before it first starts: the copy cannot answer on
the production addresses. It is started, checked, stopped and destroyed; the production
guest is only read. The restore time (RTO: from the restore request until the copy
runs) and the outcome go to the audit log (``cloud``).

What is checked, plainly: the restore task ended OK; the copy's cores, memory and boot
disk equal the production guest's; it has no NIC; it reaches ``running``; and the
service's health check, the deploy room's role check (:mod:`hatang.deploy.health`, the
commands ``hatang deploy check`` runs over SSH), passes inside the copy. Having no
network, the copy is reached through the QEMU guest agent (:mod:`.guest_exec`): each
command's exit code and output are in the result (``role_commands``). A guest whose
roles have no health check (``base`` alone: the baseline audit is its check) says so and
passes; a container with one fails it as not run, since PVE has no exec API for
containers (``pct exec`` needs a shell on the node, which hatang does not use). Nothing
is destroyed but a guest this run restored and whose tag and description say so.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from hatang import audit
from hatang.cloud import guest_exec
from hatang.cloud.backup_report import BackupState, backup_states
from hatang.cloud.client import Pve
from hatang.cloud.errors import PveError
from hatang.cloud.observed import ClusterView, Guest, read_cluster
from hatang.cloud.operations import ID_ATTEMPTS, Operations
from hatang.deploy import health
from hatang.errors import HatangError
from hatang.inventory.inventory import Inventory

TEST_TAG = "hatang-restore-test"
MARKER = "restore test by hatang: destroyed when the test ends"
#: How long a copy's guest agent may take to answer after the start (the guest boots).
AGENT_WAIT_S = 300.0
#: How long one health check may run in the copy.
CHECK_TIMEOUT_S = 120.0
CONTAINERS = "not run: PVE has no exec API for containers (no guest agent); a container's role check cannot run in its copy"


@dataclass
class RestoreTest:
    service: str
    cluster: str
    guest: str
    vmid: int
    archive: str
    backup_age_h: float | None
    node: str
    test_vmid: int | None = None
    ok: bool = False
    rto_s: float | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    role_check: str = "not run"  # passed, failed: why, not run: why, none: why none applies
    role_commands: list[dict[str, Any]] = field(default_factory=list)  # each health check's exit code and output
    cleaned_up: bool = False  # nothing of the test is left on the cluster
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pick(inv: Inventory, service: str, guest: str | None) -> tuple[str, BackupState]:
    vms = [vm for vm in inv.vms() if vm.service == service]
    if not vms:
        known = ", ".join(sorted({vm.service for vm in inv.vms()}))
        raise HatangError(f"no service '{service}' with guests in inventory/services.yaml (services: {known})")
    cluster = vms[0].cluster
    states = [s for s in backup_states(inv, clusters=[cluster]) if s.guest in {vm.name for vm in vms}]
    if guest is not None:
        states = [s for s in states if s.guest == guest]
        if not states:
            raise HatangError(f"service '{service}' has no guest '{guest}' on {cluster} "
                              f"(its guests: {', '.join(sorted(vm.name for vm in vms))})")
    backed = sorted((s for s in states if s.last is not None), key=lambda s: (-(s.last or 0), s.guest))
    if not backed:
        raise HatangError(f"no backup of {guest or 'any guest of ' + service} on {cluster}: "
                          "run its backup job first ('hatang cloud backups' shows what exists)")
    return cluster, backed[0]


def _node(view: ClusterView, wanted: str | None, production: str) -> str:
    online = sorted(n for n, info in view.nodes.items() if info.online)
    if wanted is not None:
        if wanted not in view.nodes:
            raise HatangError(f"--node {wanted}: no such node in the cluster (nodes: {', '.join(sorted(view.nodes))})")
        if wanted not in online:
            raise HatangError(f"--node {wanted}: the node is offline")
        return wanted
    if not online:
        raise HatangError("no node of the cluster is online")
    return next((n for n in online if n != production), online[0])


def restore_test(inv: Inventory, service: str, *, guest: str | None = None, node: str | None = None,
                 task_timeout_s: float = 1800.0, agent_wait_s: float = AGENT_WAIT_S) -> RestoreTest:
    """Restore, isolate, boot, check and destroy one copy; the result is audited either way."""
    cluster, state = _pick(inv, service, guest)
    pve = Pve.open(inv, cluster)
    view = read_cluster(pve, wanted_names={state.guest}, ct_template_storage=None)
    production = next(g for g in view.guests if g.vmid == state.vmid)
    result = RestoreTest(service, cluster, state.guest, state.vmid, state.volid, state.age_h,
                         _node(view, node, production.node))
    ops = Operations(pve, view, task_timeout_s=task_timeout_s)
    try:
        _run(ops, production.kind, result, production)
        host = next((h for h in inv.linux_hosts() if h.name == state.guest), None)
        _role_check(ops, production.kind, result, health.checks(host) if host else [], agent_wait_s)
    except HatangError as exc:
        result.error = exc.message
    finally:
        result.cleaned_up = result.test_vmid is None or _clean_up(ops, production.kind, result)
    result.ok = not result.error and all(result.checks.values()) and result.cleaned_up
    audit.append("cloud", {"action": "restore-test", "env": inv.env, **result.as_dict()})
    return result


def _restore(ops: Operations, kind: str, result: RestoreTest) -> str:
    """POST the restore to a fresh id (retried when another client takes it first)."""
    source = {"archive": result.archive} if kind == "qemu" else {"ostemplate": result.archive, "restore": 1}
    name = {"name" if kind == "qemu" else "hostname": f"rt-{result.guest}"}
    for _ in range(ID_ATTEMPTS):
        vmid = int(ops.call("GET", "cluster/nextid"))
        try:
            upid = ops.call("POST", f"nodes/{result.node}/{kind}", vmid=vmid, unique=1, start=0, onboot=0, tags=TEST_TAG,
                            description=MARKER, **source, **name)
        except PveError as exc:
            if exc.already_exists:
                continue
            raise HatangError(f"restore-test {result.service}: cannot restore {result.archive} on {result.node}: {exc.reason}") from None
        result.test_vmid = vmid
        return upid
    raise HatangError(f"restore-test {result.service}: no free VM id after {ID_ATTEMPTS} tries")


def _run(ops: Operations, kind: str, result: RestoreTest, production: Guest) -> None:
    began = time.monotonic()
    upid = _restore(ops, kind, result)
    path = f"nodes/{result.node}/{kind}/{result.test_vmid}"
    ops.pve.wait(upid, f"restore of {result.archive} to {result.test_vmid}", timeout_s=ops.task_timeout_s)
    result.checks["restored"] = True
    config = ops.call("GET", f"{path}/config")
    nics = sorted(k for k in config if k.startswith("net") and k[3:].isdigit())
    if nics:  # stopped: the change is applied at once
        ops.put_config(path, f"rt-{result.guest}: remove NICs", delete=",".join(nics))
    config = ops.call("GET", f"{path}/config")
    result.checks["isolated"] = not any(k.startswith("net") and k[3:].isdigit() for k in config)
    if not result.checks["isolated"]:
        raise HatangError(f"restore-test {result.service}: the copy {result.test_vmid} kept a NIC: not started")
    ops.task("POST", f"{path}/status/start", f"rt-{result.guest}: start")
    status = ops.call("GET", f"{path}/status/current")
    result.rto_s = round(time.monotonic() - began, 2)
    result.checks["running"] = status.get("status") == "running"
    copy = read_cluster(ops.pve, wanted_names=set(), ct_template_storage=None)
    restored = next((g for g in copy.guests if g.vmid == result.test_vmid), None)
    result.checks["same size as production"] = restored is not None and (
        (restored.cores, restored.memory_mib, restored.boot_disk_gib)
        == (production.cores, production.memory_mib, production.boot_disk_gib))


def _role_check(ops: Operations, kind: str, result: RestoreTest, checks: list[health.HealthCheck], agent_wait_s: float) -> None:
    """The guest's health checks in the copy, through its guest agent, one after another."""
    if not checks:
        result.role_check = f"none: {result.guest} has no role with a health check (the baseline audit checks the rest)"
        return
    if kind == "lxc":
        result.role_check, result.checks["role check"] = CONTAINERS, False
        result.error = f"restore-test {result.service}: the role check of {result.guest} {CONTAINERS}"
        return
    vmid = result.test_vmid
    assert vmid is not None  # _run restored it
    outcomes: list[health.Outcome] = []
    for check in checks:
        done = guest_exec.run(ops.call, result.node, vmid, check.command, timeout_s=CHECK_TIMEOUT_S,
                              agent_wait_s=agent_wait_s)
        outcomes.append(health.Outcome(check, done.exitcode, done.out, done.err, done.note))
        if done.note.startswith("not run"):  # no agent: the next would not run either
            break
    result.role_commands = [o.as_dict() for o in outcomes]
    failed = [o.message() for o in outcomes if not o.passed]
    result.checks["role check"] = not failed
    roles = ", ".join(dict.fromkeys(c.role for c in checks))
    result.role_check = f"failed: {'; '.join(failed)}" if failed else f"passed: {roles} ({len(outcomes)} checks in the copy)"
    if failed:
        result.error = f"restore-test {result.service}: the role check failed in the copy: {'; '.join(failed)}"


def _clean_up(ops: Operations, kind: str, result: RestoreTest) -> bool:
    """Stop and destroy the copy, only if it is the one this run made (tag and marker)."""
    path = f"nodes/{result.node}/{kind}/{result.test_vmid}"
    try:
        config = ops.call("GET", f"{path}/config")
    except PveError as exc:
        if "does not exist" in exc.reason:  # a failed restore task removes its guest itself
            return True
        result.error = result.error or exc.message
        return False
    if TEST_TAG not in str(config.get("tags", "")).split(";") or config.get("description", "").strip() != MARKER:
        result.error = result.error or f"VM {result.test_vmid} is not the restore test's copy: left alone"
        return False
    try:
        if ops.call("GET", f"{path}/status/current").get("status") == "running":
            ops.task("POST", f"{path}/status/stop", f"rt-{result.guest}: stop")
        ops.task("DELETE", path, f"rt-{result.guest}: destroy", purge=1, **{"destroy-unreferenced-disks": 1})
    except HatangError as exc:
        result.error = result.error or f"cleanup of {result.test_vmid}: {exc.message}"
        return False
    return True
