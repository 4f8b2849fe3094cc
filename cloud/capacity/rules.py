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

from hatang.cloud.capacity.assumptions import Assumption, rule_defaults
from hatang.cloud.capacity.model import Capacity, Demand, capacity
from hatang.cloud.capacity.storage import copies
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
    the next ``buy_ahead_months``. ``stated`` names what the planner gave (``--policy``,
    ``ratio:critical``…): the rest are defaults, listed as assumptions.
    """

    ratio_limits: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RATIOS))
    policy: int = 1
    service_life_years: int = 5
    lead_time_months: int = 6
    buy_ahead_months: int = 12
    stated: frozenset[str] = frozenset()

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


    def assumed(self) -> list[Assumption]:
        """The rules the planner left to their defaults."""
        return rule_defaults(dict(self.ratio_limits), self.stated, {
            "--policy": ("redundancy the recommendation keeps", LEVELS[self.policy]),
            "--service-life": ("service life of a server", f"{self.service_life_years} years"),
            "--lead-time": ("lead time from order to service", f"{self.lead_time_months} months"),
            "--buy-ahead": ("demand a purchase covers", f"{self.buy_ahead_months} months"),
        })


def minimum_nodes(cluster: m.Cluster, vms: Iterable[m.Vm], policy: int) -> int:
    """The fewest nodes the cluster may have: policy + 1; for each Ceph pool with hosts as
    failure domains, its copies + policy (so it can still re-replicate after losing
    ``policy`` hosts), or its copies with OSDs as domains; the largest anti-affinity
    group (one member per node)."""
    groups: dict[str, int] = {}
    for vm in vms:
        if vm.spec.anti_affinity:
            groups[vm.spec.anti_affinity] = groups.get(vm.spec.anti_affinity, 0) + 1
    replicas = [copies(s) + policy * (s.failure_domain == "host") for s in cluster.storage if s.type == "rbd"]
    return max([policy + 1, *replicas, *groups.values()])


def limits(cluster: m.Cluster, lost: int) -> dict[str, float]:
    """Each resource's limit with the ``lost`` largest nodes gone."""
    return limits_of(capacity(cluster, lost))


def limits_of(cap: Capacity) -> dict[str, float]:
    """Physical cores, RAM (never overcommitted), usable storage by its failure model
    (0 for a pool at risk: any data in it is over the limit)."""
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
        "Ceph: mỗi bản sao (hoặc mảnh k+m) nằm ở một miền lỗi (máy chủ) khác nhau, giữ dưới ngưỡng gần đầy; khi số máy chủ "
        "còn lại ít hơn số bản sao thì không tái nhân bản được: dữ liệu gặp rủi ro.",
        "Ceph: each replica (or each of k+m erasure-coded chunks) lives in a distinct failure domain (host by default), "
        "below the near-full ratio; with equal domains usable = raw ÷ replicas (× k ÷ (k+m) when erasure-coded), with "
        "unequal ones the smaller domains bound it. After a loss Ceph re-replicates onto the survivors only while at "
        "least as many domains as copies are left; otherwise the pool is reported as 'cannot re-replicate: data at risk'.",
    ),
    (
        "Lưu trữ cục bộ mất cùng nút của nó: các nút còn lại phải nhận (khôi phục) máy ảo của nút đó.",
        "Local storage is lost with its node: N+1 and N+2 count the surviving nodes' local disks, which must take "
        "the lost node's guests (restored from backup).",
    ),
    (
        "Lưu trữ cấp phát mỏng: so sánh cả dữ liệu đã dùng và dung lượng đĩa đã cấp; cảnh báo khi đĩa đã cấp vượt dung lượng dùng được ở N hoặc N+1.",
        "Thin provisioning: storage shows the data stored (used) beside the disk sizes allocated (committed), and warns "
        "when committed exceeds usable at N or N+1; services sized 'committed' (by default the critical ones) need "
        "the larger of the two.",
    ),
]


def rule_lines(rules: Rules) -> list[tuple[str, str]]:
    return [(vi.format(**rules.ratio_limits), en.format(**rules.ratio_limits)) for vi, en in RULE_TEXT]
