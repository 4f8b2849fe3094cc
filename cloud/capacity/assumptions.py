"""No silent defaults: every ratio, threshold and rule the report uses that its inputs
do not state, with its value and where it comes from.

The capacity report prints them as its "assumptions" table; ``hatang inventory
validate`` warns about the inventory's share (:func:`inventory_defaults`), each with
the file, line and key where the planner would state it. Whether the inventory states
a value is pydantic's ``model_fields_set``: a default is what the YAML left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hatang.cloud.vcpu import SERVICE_CLASSES
from hatang.inventory import model as m
from hatang.inventory.inventory import Inventory
from hatang.inventory.yamlsource import KeyPath, Problem

DEFAULT = "hatang's default"


@dataclass(frozen=True)
class Assumption:
    what: str
    value: str
    source: str  # where the value comes from
    state_at: str = ""  # where an input would state it instead (file:line: key), if anywhere

    def warning(self) -> str:
        return f"{self.state_at}: not stated, {self.what} is assumed {self.value} ({self.source})"


def _where(inv: Inventory, file: str, path: KeyPath) -> str:
    source = inv.sources.get(file)
    return (source.problem(path, "") if source else Problem(file, path, "")).where()


def storage_defaults(inv: Inventory, path: KeyPath, cluster: m.Cluster, index: int, storage: m.Storage) -> Iterator[Assumption]:
    """The pool's unstated replicas, failure domain and near-full ratio (those that apply)."""
    stated = storage.model_fields_set
    key = (*path, "storage", index)
    pool = f"{cluster.name}/{storage.name}"
    if "replicas" not in stated and storage.erasure is None:
        yield Assumption(f"copies of {pool}", f"{storage.replicas} (no replication)" if storage.replicas == 1 else str(storage.replicas),
                         f"{DEFAULT} for storage replicas", _where(inv, "datacenter.yaml", (*key, "replicas")))
    if storage.type == "rbd" and "failure_domain" not in stated:
        yield Assumption(f"failure domain of {pool}", storage.failure_domain, f"{DEFAULT}, as Ceph's default CRUSH rule",
                         _where(inv, "datacenter.yaml", (*key, "failure_domain")))
    if "near_full_ratio" not in stated:
        yield Assumption(f"near-full ratio of {pool}", f"{storage.near_full_ratio:g}", f"{DEFAULT} (Ceph's nearfull ratio)",
                         _where(inv, "datacenter.yaml", (*key, "near_full_ratio")))


def inventory_defaults(inv: Inventory, clusters: set[str] | None = None) -> list[Assumption]:
    """What the inventory leaves to defaults that capacity planning uses (for ``clusters``, or all)."""
    found: list[Assumption] = []
    for path, cluster in inv.clusters:
        for index, storage in enumerate(cluster.storage):
            if clusters is None or cluster.name in clusters:
                found += storage_defaults(inv, path, cluster, index, storage)
    for path, service in inv.services:
        if service.storage_sizing is None and (clusters is None or service.cluster in clusters):
            sizing = m.storage_sizing(service.service_class, None)
            found.append(Assumption(f"storage sizing of {service.name} ({service.service_class})", sizing,
                                    f"{DEFAULT}: committed disks for critical services, data stored for the others",
                                    _where(inv, "services.yaml", (*path, "storage_sizing"))))
    for path, policy in inv.backup_policies:
        if "archive_ratio" not in policy.model_fields_set:
            found.append(Assumption(f"backup archive size, class {policy.service_class}", f"{policy.archive_ratio:g} × the guest's data",
                                    f"{DEFAULT} until an archive is measured ('capacity report --live'): no compression",
                                    _where(inv, "services.yaml", (*path, "archive_ratio"))))
    return found


def rule_defaults(ratio_limits: dict[str, float], stated: frozenset[str], values: dict[str, tuple[str, str]]) -> list[Assumption]:
    """The planner's rules not given on the command line: ``values`` maps a rule's
    option name to (what it is, its value)."""
    found = [
        Assumption(f"vCPU per physical core, {cls}", f"{ratio_limits[cls]:g}", f"{DEFAULT} (hatang.cloud.vcpu, placement's rule too)", "--ratio")
        for cls in SERVICE_CLASSES
        if f"ratio:{cls}" not in stated
    ]
    found += [Assumption(what, value, DEFAULT, option) for option, (what, value) in values.items() if option not in stated]
    return found
