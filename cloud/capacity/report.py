"""Build the capacity report: every cluster's hardware, allocation, trend, outlook under
each rule, and the recommendation, as one :class:`CapacityReport` (the writers in
:mod:`.render` turn it into Markdown, HTML, CSV and charts; :meth:`CapacityReport.to_dict`
into JSON).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from hatang.cloud.capacity.assumptions import Assumption, inventory_defaults
from hatang.cloud.capacity.backup_demand import BackupStore, backup_stores, guest_backups, with_backups
from hatang.cloud.capacity.catalog import Catalog, load_catalog
from hatang.cloud.capacity.demand import Trends, demand_series
from hatang.cloud.capacity.drivers import Drivers, load_drivers
from hatang.cloud.capacity.history import History, Series, read_history
from hatang.cloud.capacity.model import Allocation, Capacity, Demand, allocation_from_vms, capacity
from hatang.cloud.capacity.months import Month, current_month, month_str
from hatang.cloud.capacity.outlook import Check, outlook, storage_warnings
from hatang.cloud.capacity.recommend import Recommendation, recommend
from hatang.cloud.capacity.rules import LEVELS, Rules, minimum_nodes, needs
from hatang.errors import HatangError
from hatang.inventory import model as m
from hatang.inventory.inventory import Inventory

LiveReader = Callable[[Inventory, str], Allocation]


@dataclass(frozen=True)
class ClusterReport:
    name: str
    cluster: m.Cluster
    capacity: Capacity
    allocated: Allocation
    live: Allocation | None
    history: Series | None
    trends: Trends
    months: list[Month]
    demand: list[Demand]
    needs: list[dict[str, float]]
    checks: list[Check]
    recommendation: Recommendation
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # storage at risk or over-committed, today
    backups: list[BackupStore] = field(default_factory=list)  # what the backup stores hold under retention

    @property
    def baseline(self) -> Allocation:
        """The allocation the forecast grows from: the live cluster's when read."""
        return self.live or self.allocated

    def check(self, resource: str, level: int) -> Check:
        return next(c for c in self.checks if c.resource == resource and c.level == level)


@dataclass(frozen=True)
class CapacityReport:
    generated: datetime
    start: Month
    horizon_years: int
    rules: Rules
    inputs: dict[str, str]
    clusters: list[ClusterReport]
    assumptions: list[str]
    drivers: Drivers | None = None
    assumed: list[Assumption] = field(default_factory=list)  # each default the inputs do not state

    @property
    def cost_vnd(self) -> int:
        return sum(c.recommendation.cost_vnd for c in self.clusters)

    def budget_by_year(self) -> dict[int, int]:
        """VND to spend per year, by the month each order must be placed."""
        years: dict[int, int] = {}
        for c in self.clusters:
            for action in c.recommendation.actions:
                years[action.order_by // 12] = years.get(action.order_by // 12, 0) + action.cost_vnd
        return dict(sorted(years.items()))

    def to_dict(self) -> dict:
        from hatang.cloud.capacity.jsonview import report_dict

        return report_dict(self)


def build_report(
    inv: Inventory,
    *,
    horizon_years: int = 5,
    history_path: Path | None = None,
    history: History | None = None,
    drivers_path: Path | None = None,
    catalog_path: Path | None = None,
    rules: Rules | None = None,
    clusters: Sequence[str] | None = None,
    live: LiveReader | None = None,
    node_spec: str | None = None,
    start: Month | None = None,
    history_source: str | None = None,
    backup_sizes: Mapping[str, int] | None = None,
) -> CapacityReport:
    """The capacity report of ``inv``'s Proxmox clusters (or of ``clusters``).

    History comes from ``history_path`` (a CSV) or ready-made ``history`` (Prometheus);
    ``live`` reads a cluster's allocation from the running cluster; ``backup_sizes``
    gives guests' newest backup archives in bytes, measured (else the inventory's
    estimate, :mod:`.backup_demand`). The forecast starts the month after the last
    sample (or ``start``, or this month without history).
    """
    rules = rules or Rules()
    if not 1 <= horizon_years <= 15:
        raise HatangError(f"--horizon-years must be between 1 and 15, not {horizon_years}")
    chosen = _choose_clusters(inv, clusters)
    pools = {c.name: [s.name for s in c.storage] for c in inv.cluster_by_name.values()}
    if history_path is not None:
        history = read_history(history_path, pools)
        history_source = str(history_path)
    history = history or {}
    drivers = load_drivers(drivers_path, inv.cluster_by_name) if drivers_path else None
    catalog = load_catalog(catalog_path, inv.cluster_by_name)
    if start is None:
        start = max((s.last for s in history.values()), default=current_month() - 1) + 1
    months = list(range(start, start + 12 * horizon_years))
    sizes = dict(backup_sizes or {})
    reports = [_cluster_report(inv, cluster, history.get(cluster.name), drivers, catalog, rules, months, live, node_spec, sizes) for cluster in chosen]
    inputs = {
        "inventory": f"{inv.directory} ({inv.env})",
        "history": history_source or "none (flat demand: drivers only)",
        "drivers": str(drivers_path) if drivers_path else "none",
        "catalogue": str(catalog.path),
        "allocation": "live cluster (Proxmox API)" if live else "inventory (services.yaml)",
        "backup sizes": f"measured newest archives of {len(sizes)} guest(s) (cloud backups), the others estimated" if sizes
        else "estimated (services.yaml backup_policies: archive_ratio × disks × pool fill)",
    }
    assumed = [*inventory_defaults(inv, {c.name for c in chosen}), *rules.assumed()]
    return CapacityReport(datetime.now(timezone.utc), start, horizon_years, rules, inputs, reports, assumptions(rules, start), drivers, assumed)


def _choose_clusters(inv: Inventory, names: Sequence[str] | None) -> list[m.Cluster]:
    if not inv.cluster_by_name:
        raise HatangError(f"{inv.directory}/datacenter.yaml declares no Proxmox cluster: nothing to plan")
    for name in names or ():
        if name not in inv.cluster_by_name:
            raise HatangError(f"unknown cluster {name!r} (datacenter.yaml has {', '.join(inv.cluster_by_name)})")
    chosen = [c for c in inv.cluster_by_name.values() if not names or c.name in names]
    for path, cluster in inv.clusters:
        if cluster in chosen and len(cluster.nodes) < 2:
            source = inv.sources.get("datacenter.yaml")
            where = str(source.problem((*path, "nodes"), "")).rstrip(": ") if source else f"datacenter.yaml: {cluster.name}"
            raise HatangError(
                f"{where}: cluster {cluster.name} has {len(cluster.nodes)} node: N+1 is impossible "
                "(losing it leaves no node to restart its HA VMs on)",
                details=["add a node to the cluster, or plan the others with --cluster NAME"],
                exit_code=2,
            )
    return chosen


def _cluster_report(
    inv: Inventory,
    cluster: m.Cluster,
    series: Series | None,
    drivers: Drivers | None,
    catalog: Catalog,
    rules: Rules,
    months: list[Month],
    live: LiveReader | None,
    node_spec: str | None,
    backup_sizes: Mapping[str, int],
) -> ClusterReport:
    vms = [vm for vm in inv.vms() if vm.cluster == cluster.name]
    allocated = allocation_from_vms(vms)
    current = live(inv, cluster.name) if live else None
    base = current or allocated
    trends = Trends.fit(series)
    demand = demand_series(base.demand, trends, drivers, cluster.name, months[0] - 1, months)
    [at_base] = demand_series(base.demand, trends, drivers, cluster.name, months[0] - 1, [months[0] - 1])
    backups = backup_stores(guest_backups(cluster, vms, inv.backup_policy_by_class, backup_sizes, at_base), at_base, demand)
    demand = with_backups(demand, backups)
    wanted = [needs(d, rules, cluster) for d in demand]
    notes = []
    if current and current.unknown:
        notes.append(f"{len(current.unknown)} guest(s) on {cluster.name} are not in the inventory, counted as standard class: {', '.join(current.unknown)}")
    for service in drivers.new_services if drivers else ():
        if service.cluster == cluster.name and service.start_month < months[0]:
            notes.append(f"new service {service.name} starts {service.start}, before the forecast: counted from its first month; "
                         "take it out of the drivers file if the inventory already has it")
    if series is None:
        notes.append(f"no history for {cluster.name}: demand is flat apart from the drivers")
    elif series.last != months[0] - 1:
        notes.append(f"the history of {cluster.name} ends {month_str(series.last)}, {months[0] - 1 - series.last} month(s) before the forecast starts")
    return ClusterReport(
        name=cluster.name,
        cluster=cluster,
        capacity=capacity(cluster),
        allocated=allocated,
        live=current,
        history=series,
        trends=trends,
        months=months,
        demand=demand,
        needs=wanted,
        checks=outlook(cluster, months, wanted),
        warnings=storage_warnings(cluster, base.demand),
        recommendation=recommend(cluster, months, wanted, rules, catalog.spec_for(cluster.name, node_spec), minimum_nodes(cluster, vms, rules.policy)),
        notes=notes,
        backups=backups,
    )


def assumptions(rules: Rules, start: Month) -> list[str]:
    """The assumptions a reader must know, in plain words (English; the rules carry Vietnamese)."""
    policy = LEVELS[rules.policy]
    return [
        f"The forecast starts {month_str(start)}; the month before is the base (today's allocation and trend level).",
        "Trend: an ordinary least-squares straight line through the monthly samples of each resource, extrapolated.",
        "vCPU and RAM demand = today's allocation × (trend at the month ÷ trend at the base month): VMs are resized as their measured use grows.",
        "Storage demand = the trend of data stored (before replication); a pool without history counts its allocated disks as if thick-provisioned. "
        "Services sized 'committed' need at least their allocated disks; the committed size stays as allocated, plus the drivers.",
        "Demand drivers add only their change since the base month, with the coefficients stated in the drivers file.",
        "New services count their full VM sizes from their start month, disks as if full.",
        "A backup store holds, per guest, the archives its class's retention keeps once full × its newest archive (measured, "
        "else archive_ratio × its disks × its pool's fill), growing with its pool's data; the store needs that or its own trend, whichever is larger.",
        "Capacity is aggregate per cluster (no bin-packing of VMs onto nodes); each VM fits a node (checked by 'hatang inventory validate').",
        f"Servers leave service in January of their purchase year + {rules.service_life_years}. Nodes of the chosen spec are bought "
        f"when the cluster would fall below its minimum size (policy + 1, Ceph copies + policy with hosts as failure domains, largest anti-affinity group) or {policy} "
        f"would break within {rules.buy_ahead_months} months; orders go out {rules.lead_time_months} months before.",
        "Exhaustion dates are for today's hardware kept as is; the recommendation shows the hardware that avoids them.",
        "Prices are the planner's catalogue, in VND, per node installed; no discount, tax or support renewals beyond it.",
    ]

