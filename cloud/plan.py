"""The plan: what apply would do to make each cluster match the inventory, and why.

Actions, in the order apply runs them: ``move`` (a guest that must change node),
``update`` (fields that differ, each with its old and new value), ``create``, ``ha-rule``
(anti-affinity as PVE 9 HA rules), ``delete`` (managed guests the inventory dropped),
``backup-job`` (a PVE backup job per service class, :mod:`hatang.cloud.backups`),
``reboot`` (a running VM whose CPU or memory change is pending in PVE until it restarts:
shown, not repeated, carried out only by ``apply --reboot``). ``conflict`` lines name
what hatang refuses to touch (an untagged guest holding a wanted name, duplicates). Each cluster is read in a constant number of API calls
(:mod:`hatang.cloud.observed`); the plan says how many it made.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from hatang.cloud import schema
from hatang.cloud.backups import JOB_PREFIX, DesiredJob, desired_jobs, job_changes
from hatang.cloud.client import Pve
from hatang.cloud.desired import CT_TEMPLATE_STORAGE, FINGERPRINT_PREFIX, DesiredVm, desired_state
from hatang.cloud.drift import deep_items
from hatang.cloud.observed import ClusterView, Guest, read_cluster, read_pending
from hatang.cloud.placement import capacities, place
from hatang.errors import HatangError
from hatang.inventory import model as m
from hatang.inventory.inventory import Inventory

OPS_ORDER = ("move", "update", "create", "ha-rule", "delete", "backup-job", "reboot", "conflict")
PENDING_KEYS = {"cores": "cores", "memory_mib": "memory"}  # plan field → the config key PVE keeps pending
RULE_PREFIX = "hatang-aa-"


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.field}: {self.old} → {self.new}"


@dataclass
class Action:
    op: str
    cluster: str
    name: str
    reason: str
    vmid: int | None = None
    node: str | None = None  # where it is
    target: str | None = None  # where it goes (create, move)
    changes: list[Change] = field(default_factory=list)
    desired: DesiredVm | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "op": self.op, "cluster": self.cluster, "name": self.name, "vmid": self.vmid,
            "node": self.node, "target": self.target, "reason": self.reason,
            "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in self.changes],
        }


@dataclass
class ClusterPlan:
    cluster: str
    actions: list[Action] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    api_calls: int = 0
    desired: list[DesiredVm] = field(default_factory=list, repr=False)
    jobs: list[DesiredJob] = field(default_factory=list, repr=False)
    view: ClusterView | None = field(default=None, repr=False)
    deep: bool = False  # whether guest configs were read too

    @property
    def changes(self) -> list[Action]:
        """What a plain apply does (conflicts are only reported, reboots wait for --reboot)."""
        return [a for a in self.actions if a.op not in ("conflict", "reboot")]

    def of(self, op: str) -> list[Action]:
        return [a for a in self.actions if a.op == op]


@dataclass
class Plan:
    clusters: list[ClusterPlan]

    @property
    def actions(self) -> list[Action]:
        return [a for c in self.clusters for op in OPS_ORDER for a in c.of(op)]

    @property
    def changes(self) -> list[Action]:
        """The actions apply would carry out (conflicts are only reported, reboots wait for --reboot)."""
        return [a for c in self.clusters for a in c.changes]

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def problems(self) -> list[str]:
        return [f"{c.cluster}: {p}" for c in self.clusters for p in c.problems]

    @property
    def warnings(self) -> list[str]:
        return [f"{c.cluster}: {w}" for c in self.clusters for w in c.warnings]

    @property
    def api_calls(self) -> int:
        return sum(c.api_calls for c in self.clusters)

    def of_cluster(self, name: str) -> ClusterPlan:
        return next(c for c in self.clusters if c.cluster == name)

    def as_dict(self) -> dict[str, Any]:
        counts = defaultdict(int)
        for action in self.actions:
            counts[action.op] += 1
        return {
            "empty": self.empty,
            "summary": {op: counts.get(op, 0) for op in OPS_ORDER},
            "api_calls": {c.cluster: c.api_calls for c in self.clusters},
            "actions": [a.as_dict() for a in self.actions],
            "problems": self.problems,
            "warnings": self.warnings,
        }


def plain_tags(tags: tuple[str, ...]) -> list[str]:
    return sorted(t for t in tags if not t.startswith(FINGERPRINT_PREFIX))


def guest_changes(vm: DesiredVm, guest: Guest, ha: dict[str, dict[str, Any]], pending: dict[str, str] | None = None) -> list[Change]:
    """The fields of an existing guest that differ from the inventory (CPU and memory
    already pending in PVE are left to :func:`pending_changes`)."""
    changes = []
    waiting = pending_changes(vm, guest, pending)
    if guest.cores != vm.cores:
        changes.append(Change("cores", guest.cores, vm.cores))
    if guest.memory_mib != vm.memory_mib:
        changes.append(Change("memory_mib", guest.memory_mib, vm.memory_mib))
    changes = [c for c in changes if c not in waiting]
    for field, key in PENDING_KEYS.items():  # pending by hand, away from the inventory (seen with --deep)
        wanted_value = vm.cores if field == "cores" else vm.memory_mib
        if (pending or {}).get(key) not in (None, str(wanted_value)) and not any(c.field == field for c in changes):
            changes.append(Change(field, f"{pending[key]} (pending)", wanted_value))
    if guest.boot_disk_gib < vm.boot_disk_gib:
        changes.append(Change("boot_disk_gib", guest.boot_disk_gib, vm.boot_disk_gib))
    if plain_tags(guest.tags) != plain_tags(vm.tags):
        changes.append(Change("tags", ";".join(plain_tags(guest.tags)), ";".join(plain_tags(vm.tags))))
    if guest.fingerprint != vm.fingerprint:
        changes.append(Change("config", guest.fingerprint, vm.fingerprint))
    if guest.status != "running":
        changes.append(Change("status", guest.status, "running"))
    conf = ha.get(guest.sid)
    state = None if conf is None else conf.get("state", "started")  # PVE's default request state
    if vm.ha and state != "started":
        changes.append(Change("ha", state or "none", "started"))
    if not vm.ha and state is not None:
        changes.append(Change("ha", state, "none"))
    return changes


def pending_changes(vm: DesiredVm, guest: Guest, pending: dict[str, str] | None) -> list[Change]:
    """CPU and memory changes PVE already holds pending for this running VM: they take
    effect when it restarts, and applying them again would change nothing."""
    wanted = {"cores": (guest.cores, vm.cores), "memory_mib": (guest.memory_mib, vm.memory_mib)}
    return [Change(f, old, new) for f, (old, new) in wanted.items()
            if old != new and (pending or {}).get(PENDING_KEYS[f]) == str(new)]


def needs_pending_read(vm: DesiredVm, guest: Guest) -> bool:
    return guest.kind == "qemu" and guest.status == "running" and (guest.cores != vm.cores or guest.memory_mib != vm.memory_mib)


def _template_problem(vm: DesiredVm, view: ClusterView, node: str) -> str | None:
    if vm.kind == "qemu" and vm.template not in view.templates():
        return f"cannot create {vm.name}: no template VM named '{vm.template}' on the cluster"
    if vm.kind == "qemu":
        template = view.templates()[vm.template]
        if not view.nodes.get(template.node) or not view.nodes[template.node].online:
            return f"cannot create {vm.name} now: its template '{vm.template}' is on {template.node}, which is offline"
        local = sorted(view.template_storages.get(vm.template, set()) - view.shared_storages)
        if node != template.node and local:
            return (f"cannot create {vm.name} on {node}: template '{vm.template}' is on {template.node} with disks on "
                    f"node-local storage ({', '.join(local)}); PVE clones to another node only from shared storage")
    if vm.kind == "lxc" and not any(v.split("/")[-1].startswith(vm.template) for v in view.ct_templates.get(node, [])):
        return f"cannot create {vm.name} on {node}: no container template '{vm.template}' in {node}'s template storage (it is node-local: download it there)"
    return None


def diff(cluster: m.Cluster, desired: list[DesiredVm], view: ClusterView,
         hand_edited: dict[str, list[str]] | None = None, jobs: list[DesiredJob] | None = None) -> ClusterPlan:
    """The plan for one cluster from what it should run and what it runs (no API calls).
    ``hand_edited`` names, per guest, hidden config keys found changed by a deep read;
    ``jobs`` are the backup jobs its guests need."""
    plan = ClusterPlan(cluster.name, api_calls=view.calls, desired=desired, view=view, jobs=list(jobs or []))
    wanted = {vm.name: vm for vm in desired}
    existing: dict[str, Guest] = {}
    for guest in sorted(view.managed(), key=lambda g: g.vmid):
        if guest.name in existing:
            plan.actions.append(Action("conflict", cluster.name, guest.name, f"duplicate of vmid {existing[guest.name].vmid}; hatang keeps the lowest id and leaves this one to you", guest.vmid, guest.node))
        else:
            existing[guest.name] = guest
    strangers = {g.name: g for g in view.guests if not g.managed and g.vmid not in view.adopted and not g.template}
    blocked = {name for name in wanted if name not in existing and name in strangers}
    for name in sorted(blocked):
        g = strangers[name]
        plan.actions.append(Action("conflict", cluster.name, name, "a guest of this name exists without the 'hatang' tag: hatang neither adopts nor duplicates it (tag it 'hatang' to adopt it, or rename it)", g.vmid, g.node))
    online = {name: state.online for name, state in view.nodes.items()}
    placement = place([vm for vm in desired if vm.name not in blocked], capacities(cluster, online),
                      {name: g.node for name, g in existing.items() if name in wanted})
    plan.problems += placement.problems
    plan.warnings += placement.warnings
    for vm in desired:
        guest, node = existing.get(vm.name), placement.nodes.get(vm.name)
        if guest is None:
            problem = None if vm.name in blocked or node is None else _template_problem(vm, view, node)
            if problem:
                plan.problems.append(problem)
            elif node is not None and vm.name not in blocked:
                plan.actions.append(Action("create", cluster.name, vm.name, f"new guest of service {vm.service}", target=node, desired=vm))
            continue
        if not online.get(guest.node, False):
            plan.problems.append(f"{vm.name} (vmid {guest.vmid}) is on {guest.node}, which is offline: not checked")
            continue
        if guest.lock:
            plan.warnings.append(f"{vm.name} (vmid {guest.vmid}) is locked ({guest.lock}); apply will wait and retry")
        if node and node != guest.node:
            plan.actions.append(Action("move", cluster.name, vm.name, placement.moves.get(vm.name, "placement"), guest.vmid, guest.node, node, desired=vm))
        changes = guest_changes(vm, guest, view.ha_resources, view.pending.get(guest.vmid))
        waiting = pending_changes(vm, guest, view.pending.get(guest.vmid))
        if waiting:
            plan.actions.append(Action("reboot", cluster.name, vm.name, "pending in PVE until the VM restarts ('hatang cloud apply --reboot')",
                                       guest.vmid, guest.node, changes=waiting, desired=vm))
        edited = (hand_edited or {}).get(vm.name)
        if edited and not any(c.field == "config" for c in changes):
            changes.append(Change("config", f"edited by hand: {', '.join(edited)}", vm.fingerprint))
        if changes:
            plan.actions.append(Action("update", cluster.name, vm.name, "differs from the inventory", guest.vmid, guest.node, changes=changes, desired=vm))
    for name, guest in sorted(existing.items()):
        if name not in wanted:
            plan.actions.append(Action("delete", cluster.name, name, "managed by hatang, no longer in the inventory", guest.vmid, guest.node))
    for rule, members in desired_rules(desired).items():
        problem = rule_id_problem(rule)
        if problem:
            plan.problems.append(f"anti_affinity group '{members[0].anti_affinity}' ({', '.join(m.name for m in members)}): "
                                 f"its HA rule id '{rule}' is refused by PVE ({problem}); rename the group in the inventory")
    plan.actions += [a for a in rule_actions(cluster.name, desired, existing, view) if not rule_id_problem(a.name)]
    plan.actions += backup_job_actions(plan, existing, view)
    return plan


def backup_job_actions(plan: ClusterPlan, existing: dict[str, Guest], view: ClusterView) -> list[Action]:
    """hatang's backup jobs to create, update or delete (never anyone else's). A policy
    naming a storage the cluster lacks is warned about, not planned."""
    out = []
    vmids = {name: g.vmid for name, g in existing.items()}
    for job in plan.jobs:
        storage = job.settings["storage"]
        if storage not in view.storages:  # a warning: the guests themselves can still be made
            plan.warnings.append(f"backup job {job.id}: no storage '{storage}' on the cluster (the backup policy of class "
                                 f"'{job.service_class}' names it): {', '.join(job.members)} have no backup")
            continue
        changes = job_changes(job, view.backup_jobs.get(job.id), vmids)
        if changes:
            out.append(Action("backup-job", plan.cluster, job.id, f"backups of the class '{job.service_class}' guests",
                              changes=[Change(*c) for c in changes]))
    wanted = {job.id for job in plan.jobs}
    for job_id in sorted(view.backup_jobs):
        if job_id.startswith(JOB_PREFIX) and job_id not in wanted:
            out.append(Action("backup-job", plan.cluster, job_id, "no guest of this class any more", changes=[Change("job", "present", "none")]))
    return out


def rule_id_problem(rule: str) -> str | None:
    """What PVE would answer to this HA rule id (``rule`` is a ``pve-configid``)."""
    method, _ = schema.load().match("POST", "/cluster/ha/rules")
    return schema.check_value(method.properties["rule"], rule)


def desired_rules(desired: list[DesiredVm]) -> dict[str, list[DesiredVm]]:
    """Anti-affinity groups of two or more HA guests, as HA rule ids → members."""
    groups: dict[str, list[DesiredVm]] = defaultdict(list)
    for vm in desired:
        if vm.ha and vm.anti_affinity:
            groups[RULE_PREFIX + vm.anti_affinity].append(vm)
    return {rule: sorted(members, key=lambda v: v.name) for rule, members in sorted(groups.items()) if len(members) > 1}


def rule_actions(cluster: str, desired: list[DesiredVm], existing: dict[str, Guest], view: ClusterView) -> list[Action]:
    out = []
    for rule, members in desired_rules(desired).items():
        sids = sorted(f"{m.sid}:{existing[m.name].vmid}" for m in members if m.name in existing)
        current = view.ha_rules.get(rule)
        pending = [m.name for m in members if m.name not in existing]
        have = sorted((current or {}).get("resources", "").split(",")) if current else None
        if current is None or pending or have != sids or current.get("affinity") != "negative":
            change = Change("resources", ",".join(have) if have else "none", ",".join(m.name for m in members))
            out.append(Action("ha-rule", cluster, rule, "anti-affinity: keep these guests on separate nodes", changes=[change]))
    for rule in sorted(view.ha_rules):
        if rule.startswith(RULE_PREFIX) and rule not in desired_rules(desired):
            out.append(Action("ha-rule", cluster, rule, "anti-affinity group no longer in the inventory", changes=[Change("rule", "present", "none")]))
    return out


def plan_cluster(inv: Inventory, cluster_name: str, desired: list[DesiredVm], *, deep: bool = False) -> ClusterPlan:
    """One cluster's plan; ``deep`` also reads each managed guest's config and each running
    VM's pending changes (one call each) to catch hand edits /cluster/resources does not show."""
    cluster = inv.cluster_by_name[cluster_name]
    pve = Pve.open(inv, cluster_name)
    ct_storage = CT_TEMPLATE_STORAGE if any(vm.kind == "lxc" for vm in desired) else None
    view = read_cluster(pve, wanted_names={vm.name for vm in desired}, ct_template_storage=ct_storage,
                        wanted_templates=frozenset(vm.template for vm in desired if vm.kind == "qemu"))
    wanted = {vm.name: vm for vm in desired}
    read_pending(pve, view, [g.vmid for g in view.managed() if g.name in wanted and (
        needs_pending_read(wanted[g.name], g) or (deep and g.kind == "qemu" and g.status == "running"))])
    view.calls = pve.calls
    edited: dict[str, list[str]] = defaultdict(list)
    if deep:
        for item in deep_items(pve, cluster_name, view, desired):
            edited[item.name].append(item.field)
        view.calls = pve.calls
    jobs, no_policy = desired_jobs(inv, desired)
    cplan = diff(cluster, desired, view, edited, jobs)
    cplan.problems += no_policy
    cplan.deep = deep
    return cplan


def plan(inv: Inventory, *, clusters: list[str] | None = None, deep: bool = False) -> Plan:
    """The plan for every cluster of the inventory (or the ones named)."""
    wanted = desired_state(inv)
    names = clusters or sorted(wanted)
    unknown = [n for n in names if n not in wanted]
    if unknown:
        raise HatangError(f"unknown cluster {', '.join(unknown)}; the inventory declares: {', '.join(sorted(wanted))}")
    return Plan([plan_cluster(inv, name, wanted[name], deep=deep) for name in names])
