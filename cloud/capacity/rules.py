"""The headroom rules: what each resource may hold, and what the demand needs of it.

A *check* is one resource under one redundancy level: ``cpu``, ``ram`` or
``storage:<pool>`` with 0 (N), 1 (N+1) or 2 (N+2) of the largest nodes lost. Its
*limit* comes from the hardware (:func:`limits`), its *need* from the demand
(:func:`needs`); headroom is limit − need, and the resource runs out the first month
need > limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hatang.cloud.capacity.model import Demand, capacity
from hatang.cloud.vcpu import VCPU_PER_CORE, cores_needed
from hatang.errors import HatangError
from hatang.inventory import model as m

LEVELS: dict[int, str] = {0: "N", 1: "N+1", 2: "N+2"}
DEFAULT_RATIOS = VCPU_PER_CORE  # one rule with placement: hatang.cloud.vcpu


@dataclass(frozen=True)
class Rules:
    """The planner's rule inputs.

    ``policy`` is the redundancy level the recommendation must keep over the horizon
    (1: N+1); every level is still reported. ``service_life_years`` retires a node in
    January of ``purchased + service_life_years``; ``lead_time_months`` is how long
    before a node must run the order must be placed; a purchase covers the demand of
    the next ``buy_ahead_months``.
    """

    ratio_limits: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RATIOS))
    policy: int = 1
    service_life_years: int = 5
    lead_time_months: int = 6
    buy_ahead_months: int = 12

    def __post_init__(self) -> None:
        for cls in DEFAULT_RATIOS:
            if cls not in self.ratio_limits:
                raise HatangError(f"no vCPU:core ratio limit for service class {cls!r}")
        for cls, limit in self.ratio_limits.items():
            if cls not in DEFAULT_RATIOS:
                raise HatangError(f"unknown service class {cls!r} in the ratio limits (known: {', '.join(DEFAULT_RATIOS)})")
            if not limit > 0:
                raise HatangError(f"the vCPU:core ratio limit of {cls} must be > 0, not {limit}")
        if self.policy not in LEVELS:
            raise HatangError(f"unknown redundancy policy {self.policy} (known: {', '.join(f'{k} ({v})' for k, v in LEVELS.items())})")
        if self.service_life_years < 1 or self.lead_time_months < 0 or self.buy_ahead_months < 1:
            raise HatangError("the service life must be ≥ 1 year, the lead time ≥ 0 months and the buy-ahead window ≥ 1 month")


def minimum_nodes(cluster: m.Cluster, vms: Iterable[m.Vm], policy: int) -> int:
    """The fewest nodes the cluster may have: policy + 1, the Ceph pools' replica count
    (one copy per host), the largest anti-affinity group (one member per node)."""
    groups: dict[str, int] = {}
    for vm in vms:
        if vm.spec.anti_affinity:
            groups[vm.spec.anti_affinity] = groups.get(vm.spec.anti_affinity, 0) + 1
    replicas = [s.replicas for s in cluster.storage if s.type == "rbd"]
    return max(policy + 1, *replicas, *groups.values())


def limits(cluster: m.Cluster, lost: int) -> dict[str, float]:
    """Each resource's limit with the ``lost`` largest nodes gone: physical cores,
    RAM (never overcommitted), usable storage (raw ÷ replicas × near-full ratio)."""
    cap = capacity(cluster, lost)
    return {"cpu": float(cap.cores), "ram": cap.ram_gib, **{f"storage:{pool}": gb for pool, gb in cap.storage_usable_gb.items()}}


def needs(demand: Demand, rules: Rules, cluster: m.Cluster) -> dict[str, float]:
    """What the demand needs of each resource: cores = Σ vCPU_class ÷ ratio limit_class,
    RAM as allocated, storage as stored or, for services sized by their disks, as
    committed (:meth:`.model.Demand.storage_need`)."""
    return {
        "cpu": cores_needed(demand.vcpu, rules.ratio_limits),
        "ram": demand.ram_gib,
        **{f"storage:{s.name}": demand.storage_need(s.name) for s in cluster.storage},
    }


RULE_TEXT: list[tuple[str, str]] = [
    ("RAM không cấp vượt (overcommit) bộ nhớ vật lý.", "RAM is never overcommitted: allocated RAM ≤ the nodes' physical RAM."),
    (
        "Tỷ lệ vCPU trên lõi vật lý theo lớp dịch vụ: trọng yếu ≤ {critical:g}, tiêu chuẩn ≤ {standard:g}, xử lý lô ≤ {batch:g}.",
        "vCPU per physical core by service class: critical ≤ {critical:g}, standard ≤ {standard:g}, batch ≤ {batch:g}; "
        "the cores needed are Σ vCPU of a class ÷ its limit.",
    ),
    (
        "N+1: mất nút lớn nhất, mọi máy ảo HA vẫn phải chạy được; N+2: thêm một nút đang bảo trì.",
        "N+1: after losing the largest node, every HA VM must still fit; N+2: one node in maintenance plus one failure "
        "(the two largest nodes lost). Non-HA VMs are assumed, at worst, to have run on the surviving nodes.",
    ),
    (
        "Lưu trữ nhân bản: dung lượng dùng được = dung lượng thô ÷ số bản sao, giữ dưới ngưỡng gần đầy.",
        "Replicated storage: usable = raw ÷ replicas, kept below the near-full ratio; Ceph re-replicates after a node "
        "loss, so N+1 and N+2 count the OSD disks of the surviving nodes only.",
    ),
]


def rule_lines(rules: Rules) -> list[tuple[str, str]]:
    return [(vi.format(**rules.ratio_limits), en.format(**rules.ratio_limits)) for vi, en in RULE_TEXT]
