"""``hatang runbook``: list, show and run the runbooks of the alerts."""

from __future__ import annotations

from typing import Annotated

import typer

from hatang.console import print_json
from hatang.options import DEFAULT_ENV, EnvOpt, InventoryOpt, JsonOpt
from hatang.paths import DEFAULT_INVENTORY

app = typer.Typer(help="Runbooks of the alerts: read them, and run their read-only diagnostics.", no_args_is_help=True)

AlertArg = Annotated[str, typer.Argument(help="Alert name (HatangDeviceDown) or runbook name (device-down).", show_default=False)]


@app.command("list")
def list_(json: JsonOpt = False) -> None:
    """List the runbooks, one per alert."""
    from hatang.runbooks import catalog, render

    runbooks = catalog.load_all()
    if json:
        print_json([render.runbook_row(r) for r in runbooks])
    else:
        render.print_list(runbooks)


@app.command()
def show(alert: AlertArg, json: JsonOpt = False) -> None:
    """Show an alert's runbook (Vietnamese and English) in the terminal."""
    from hatang.runbooks import catalog, render

    runbook = catalog.find(alert)
    if json:
        print_json(render.runbook_row(runbook) | {"meta": runbook.meta.model_dump(), "markdown": runbook.body})
    else:
        render.print_runbook(runbook)


@app.command()
def run(
    alert: AlertArg,
    target: Annotated[str, typer.Option("--target", "-t", help="Site slug, GSO code or device name.", show_default=False)],
    inventory: InventoryOpt = DEFAULT_INVENTORY,
    env: EnvOpt = DEFAULT_ENV,
    json: JsonOpt = False,
) -> None:
    """Run an alert's read-only diagnostics on the device at TARGET and its neighbours.

    Nothing is changed on any device: only ping, TCP 22, SNMP GET/WALK, the network
    driver's getters, the audit log and the backups are read. Exits 1 when a check failed.
    """
    from hatang.inventory import load
    from hatang.runbooks import catalog, engine, render

    runbook = catalog.find(alert)
    inv = load(inventory, env)
    reports = engine.run(inv, runbook, target, show_progress=not json)
    if json:
        print_json([r.as_dict() for r in reports])
    else:
        for report in reports:
            render.print_report(report)
    if any(r.failed for r in reports):
        raise typer.Exit(1)
