"""``hatang capacity``: size the hardware refresh of the Proxmox clusters."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hatang.console import out, plain, print_json, print_table, progress
from hatang.errors import HatangError
from hatang.options import DEFAULT_ENV, EnvOpt, InventoryOpt, JsonOpt

if TYPE_CHECKING:  # heavy modules are imported inside the command
    from hatang.cloud.capacity.model import Allocation
    from hatang.cloud.capacity.report import CapacityReport
    from hatang.inventory.inventory import Inventory

app = typer.Typer(help="Capacity planning: headroom, growth, when each resource runs out, what to buy.", no_args_is_help=True)

POLICIES = {"n": 0, "n+1": 1, "n+2": 2}


def _ratios(values: list[str]) -> dict[str, float]:
    from hatang.cloud.capacity.rules import DEFAULT_RATIOS

    ratios = dict(DEFAULT_RATIOS)
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
    policy: Annotated[str, typer.Option("--policy", help="Redundancy the recommendation keeps: n, n+1 or n+2.")] = "n+1",
    ratio: Annotated[list[str] | None, typer.Option("--ratio", help="vCPU per core limit of a class, CLASS=LIMIT (repeatable; default critical=2 standard=4 batch=8).")] = None,
    service_life: Annotated[int, typer.Option("--service-life", help="Years a server stays in service.")] = 5,
    lead_time: Annotated[int, typer.Option("--lead-time", help="Months from order to a node in service.")] = 6,
    buy_ahead: Annotated[int, typer.Option("--buy-ahead", help="Months of demand each purchase covers.")] = 12,
    start: Annotated[str | None, typer.Option("--start", help="First forecast month, YYYY-MM (default: after the last sample, or this month).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Directory for report.md/html, charts and CSV (default ./capacity-report; none with --json unless given).")] = None,
    inventory: InventoryOpt = None,
    env: EnvOpt = DEFAULT_ENV,
    json: JsonOpt = False,
) -> None:
    """Per cluster: hardware, allocation, trend, when each resource runs out under N, N+1, N+2, and what to buy."""
    from hatang.cloud.capacity.catalog import EXAMPLES
    from hatang.cloud.capacity.months import parse_month
    from hatang.cloud.capacity.render import write_report
    from hatang.cloud.capacity.tables import CSV_FILES
    from hatang.cloud.capacity.report import build_report
    from hatang.cloud.capacity.rules import Rules
    from hatang.inventory.load import load

    if history and prometheus:
        raise HatangError("give --history or --prometheus, not both")
    if policy.lower() not in POLICIES:
        raise HatangError(f"--policy {policy!r}: expected one of {', '.join(POLICIES)}")
    if drivers and no_drivers:
        raise HatangError("give --drivers or --no-drivers, not both")
    try:
        first = parse_month(start) if start else None
    except ValueError as exc:
        raise HatangError(f"--start: {exc}") from None
    rules = Rules(ratio_limits=_ratios(ratio or []), policy=POLICIES[policy.lower()], service_life_years=service_life, lead_time_months=lead_time, buy_ahead_months=buy_ahead)
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
        )
    directory = output or (None if json else Path("capacity-report"))
    written = []
    if directory is not None:
        try:
            with progress("writing the report", len(result.clusters) + 1, enabled=not json) as tick:
                written = write_report(result, directory, tick=tick)
        except OSError as exc:
            raise HatangError(f"cannot write the report to {directory}: {exc.strerror or exc}") from None
    if json:
        print_json({**result.to_dict(), "files": [str(p) for p in written]})
        return
    _print(result)
    if directory is not None:
        out.print(f"\nreport: [bold]{plain(directory / 'report.html')}[/] and " + plain(f"{directory / 'report.md'}, charts in {directory / 'charts'}, figures in {len(CSV_FILES)} CSV files"))


def _print(result: CapacityReport) -> None:
    from hatang.cloud.capacity.months import month_str
    from hatang.cloud.capacity.figures import describe, ratios, vnd, when

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
            (c.name, k.resource, k.rule, f"{k.limit:,.1f}", f"{k.need_first:,.1f}", f"{k.headroom_pct:.0f} %" if k.headroom_pct is not None else "—", when(k.runs_out, c.months))
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
