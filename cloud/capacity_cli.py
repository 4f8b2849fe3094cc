"""``hatang capacity``: size the hardware refresh of the Proxmox clusters."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hatang.console import out, plain, print_json, print_table, progress, warn
from hatang.errors import HatangError
from hatang.options import DEFAULT_ENV, EnvOpt, InventoryOpt, JsonOpt

if TYPE_CHECKING:  # heavy modules are imported inside the command
    from hatang.cloud.backup_report import BackupState
    from hatang.cloud.capacity.model import Allocation
    from hatang.cloud.capacity.report import CapacityReport
    from hatang.inventory.inventory import Inventory

app = typer.Typer(help="Capacity planning: headroom, growth, when each resource runs out, what to buy.", no_args_is_help=True)

POLICIES = {"n": 0, "n+1": 1, "n+2": 2}


def _ratios(values: list[str], defaults: Mapping[str, float] | None = None) -> dict[str, float]:
    """The ``--ratio CLASS=LIMIT`` values over ``defaults`` (the shared vCPU rule)."""
    from hatang.cloud.vcpu import VCPU_PER_CORE

    ratios = dict(VCPU_PER_CORE if defaults is None else defaults)
    for value in values:
        cls, sep, limit = value.partition("=")
        try:
            ratios[cls.strip()] = float(limit)
        except ValueError:
            raise HatangError(f"--ratio {value!r}: expected CLASS=LIMIT, e.g. critical=2") from None
        if not sep:
            raise HatangError(f"--ratio {value!r}: expected CLASS=LIMIT, e.g. critical=2")
    return ratios


@app.command()
def report(
    horizon_years: Annotated[int, typer.Option("--horizon-years", help="Years to forecast.")] = 5,
    history: Annotated[Path | None, typer.Option("--history", help="CSV of monthly samples (see cloud/capacity/examples/history.csv).")] = None,
    prometheus: Annotated[str | None, typer.Option("--prometheus", help="Read the history from Prometheus' HTTP API at this URL instead.")] = None,
    history_months: Annotated[int, typer.Option("--history-months", help="With --prometheus: months of history to read.")] = 24,
    live: Annotated[bool, typer.Option("--live", help="Read the allocation from the running clusters (Proxmox API), not the inventory.")] = False,
    drivers: Annotated[Path | None, typer.Option("--drivers", help="Demand drivers (YAML). Default: the example drivers.")] = None,
    no_drivers: Annotated[bool, typer.Option("--no-drivers", help="Forecast from the trend alone.")] = False,
    catalog: Annotated[Path | None, typer.Option("--catalog", help="Server specs and prices (YAML, VND). Default: the example catalogue.")] = None,
    node_spec: Annotated[str | None, typer.Option("--node-spec", help="Catalogue spec to buy for every cluster (default: the catalogue's choice).")] = None,
    cluster: Annotated[list[str] | None, typer.Option("--cluster", help="Plan only this cluster (repeatable).")] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Redundancy the recommendation keeps: n, n+1 or n+2 (default n+1).")] = None,
    ratio: Annotated[list[str] | None, typer.Option("--ratio", help="vCPU per core limit of a class, CLASS=LIMIT (repeatable; default critical=2 standard=4 batch=8).")] = None,
    service_life: Annotated[int | None, typer.Option("--service-life", help="Years a server stays in service (default 5).")] = None,
    lead_time: Annotated[int | None, typer.Option("--lead-time", help="Months from order to a node in service (default 6).")] = None,
    buy_ahead: Annotated[int | None, typer.Option("--buy-ahead", help="Months of demand each purchase covers (default 12).")] = None,
    start: Annotated[str | None, typer.Option("--start", help="First forecast month, YYYY-MM (default: after the last sample, or this month).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Directory for report.md/html, charts and CSV (default ./capacity-report; none with --json unless given).")] = None,
    inventory: InventoryOpt = None,
    env: EnvOpt = DEFAULT_ENV,
    json: JsonOpt = False,
) -> None:
    """Per cluster: hardware, allocation, trend, when each resource runs out under N, N+1, N+2, and what to buy."""
    from hatang.cloud.capacity.backup_growth import growth
    from hatang.cloud.capacity.catalog import EXAMPLES
    from hatang.cloud.capacity.months import parse_month
    from hatang.cloud.capacity.render import write_report
    from hatang.cloud.capacity.tables import CSV_FILES
    from hatang.cloud.capacity.report import build_report
    from hatang.cloud.capacity.rules import Rules
    from hatang.inventory.load import load

    if history and prometheus:
        raise HatangError("give --history or --prometheus, not both")
    if policy is not None and policy.lower() not in POLICIES:
        raise HatangError(f"--policy {policy!r}: expected one of {', '.join(POLICIES)}")
    if drivers and no_drivers:
        raise HatangError("give --drivers or --no-drivers, not both")
    try:
        first = parse_month(start) if start else None
    except ValueError as exc:
        raise HatangError(f"--start: {exc}") from None
    given = {"--policy": policy, "--service-life": service_life, "--lead-time": lead_time, "--buy-ahead": buy_ahead}
    stated = frozenset({option for option, value in given.items() if value is not None} | {f"ratio:{cls}" for cls in _ratios(ratio or [], {})})
    values = {"policy": POLICIES[policy.lower()] if policy else None, "service_life_years": service_life, "lead_time_months": lead_time, "buy_ahead_months": buy_ahead}
    rules = Rules(ratio_limits=_ratios(ratio or []), stated=stated, **{k: v for k, v in values.items() if v is not None})
    inv = load(inventory, env)
    samples, source = None, None
    if prometheus:
        from hatang.cloud.capacity.prometheus import read_prometheus

        samples = read_prometheus(prometheus, inv, months=history_months, until=first - 1 if first is not None else None)
        source = f"Prometheus {prometheus} ({history_months} months)"

    def read_live(inventory: Inventory, name: str) -> Allocation:
        from hatang.cloud.capacity.live import live_allocation

        allocation = live_allocation(inventory, name)
        tick(description=f"read {name}")
        return allocation

    states = _backup_states(inv, cluster) if live else []
    with progress("reading the clusters", len(cluster or inv.cluster_by_name), enabled=live and not json) as tick:
        result = build_report(
            inv,
            horizon_years=horizon_years,
            history_path=history,
            history=samples,
            history_source=source,
            drivers_path=None if no_drivers else drivers or EXAMPLES / "drivers.yaml",
            catalog_path=catalog,
            rules=rules,
            clusters=cluster,
            live=read_live if live else None,
            node_spec=node_spec,
            start=first,
            backup_sizes={s.guest: s.size for s in states if s.size is not None},
        )
    stores = growth(inv, cluster, states=states) if states else []
    directory = output or (None if json else Path("capacity-report"))
    written = []
    if directory is not None:
        try:
            with progress("writing the report", len(result.clusters) + 1, enabled=not json) as tick:
                written = write_report(result, directory, tick=tick)
        except OSError as exc:
            raise HatangError(f"cannot write the report to {directory}: {exc.strerror or exc}") from None
    if json:
        print_json({**result.to_dict(), "backup_growth": [g.as_dict() for g in stores], "files": [str(p) for p in written]})
        return
    _print(result)
    if stores:
        from hatang.cloud.capacity.backup_growth import MONTHS

        print_table("Backup storage held under the retention policies (measured archive sizes, GB)",
                    ["cluster", "storage", "guests measured", "newest archives", *(f"after {n} mo" for n in MONTHS), "usable"],
                    [(g.cluster, g.storage, f"{g.measured}/{g.guests}", g.newest_gb, *(g.retained_gb[n] for n in MONTHS),
                      f"{g.usable_gb:,.0f}" if g.usable_gb else "?") for g in stores])
    if directory is not None:
        out.print(f"\nreport: [bold]{plain(directory / 'report.html')}[/] and " + plain(f"{directory / 'report.md'}, charts in {directory / 'charts'}, figures in {len(CSV_FILES)} CSV files"))


def _backup_states(inv: Inventory, clusters: list[str] | None) -> list["BackupState"]:
    """With --live: each guest's newest backup (its measured size feeds the forecast's
    backup stores); backups that cannot be read are said, not fatal to the report (the
    stores are then estimated from the inventory)."""
    from hatang.cloud.backup_report import backup_states

    try:
        return backup_states(inv, clusters=clusters)
    except HatangError as exc:
        warn(f"backup sizes not measured, estimated from the inventory: {exc.message}")
        return []


def _print(result: CapacityReport) -> None:
    from hatang.cloud.capacity.months import month_str
    from hatang.cloud.capacity.figures import describe, ratios, vnd, when
    from hatang.cloud.capacity.storage import AT_RISK

    print_table(
        f"Capacity from {month_str(result.start)}, {result.horizon_years} years",
        ["cluster", "nodes", "cores (threads)", "RAM GiB", "vCPU", "vCPU/core", "RAM allocated GiB", "VMs (HA)"],
        [
            (c.name, c.capacity.nodes, f"{c.capacity.cores} ({c.capacity.threads})", f"{c.capacity.ram_gib:,.0f}", f"{c.baseline.demand.total_vcpu:,.0f}",
             f"{ratios(c)['all']:.2f}", f"{c.baseline.demand.ram_gib:,.0f}", f"{c.baseline.vms} ({c.baseline.ha_vms})")
            for c in result.clusters
        ],
    )
    print_table(
        "When each resource runs out (today's hardware)",
        ["cluster", "resource", "rule", "limit", "need now", "headroom", "runs out"],
        [
            (c.name, k.resource, k.rule, AT_RISK if k.at_risk else f"{k.limit:,.1f}", f"{k.need_first:,.1f}", f"{k.headroom_pct:.0f} %" if k.headroom_pct is not None else "—", when(k.runs_out, c.months))
            for c in result.clusters
            for k in sorted(c.checks, key=lambda k: (k.resource, k.level))
        ],
    )
    print_table(
        "Recommendation",
        ["cluster", "action", "order by", "in service", "cost"],
        [
            (c.name, describe(a, c.recommendation.spec.name), month_str(a.order_by) + (" (late)" if a.late else ""), month_str(a.month), vnd(a.cost_vnd))
            for c in result.clusters
            for a in c.recommendation.actions
        ],
        caption=f"total {vnd(result.cost_vnd)}",
    )
    from hatang.cloud.capacity.render import backup_row

    print_table("Backup stores under retention, in the forecast (GB)",
                ["cluster", "store", "guests (measured)", "archives kept", "newest archives", "held now", "at horizon"],
                [(c.name, *backup_row(b)) for c in result.clusters for b in c.backups])
    for c in result.clusters:
        for warning in c.warnings:
            warn(f"{c.name}: {warning}")
    if result.assumed:
        out.print(f"{len(result.assumed)} value(s) not stated by the inputs are assumed: see the report's assumptions table")
