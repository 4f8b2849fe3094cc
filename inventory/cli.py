"""``hatang inventory``: validate, show, allocate and export the source of truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hatang.console import info, out, plain, print_json, print_table, warn
from hatang.errors import InventoryError, UserAbort
from hatang.options import DEFAULT_ENV, EnvOpt, InventoryOpt, JsonOpt, YesOpt

app = typer.Typer(help="The province's source of truth: validate, show, allocate addresses, export.", no_args_is_help=True)

EXPORT_FORMATS = ("pyinfra", "nornir", "ansible", "prometheus-sd")


def _dir(inventory: Path | None) -> Path | None:
    return inventory


@app.command()
def validate(inventory: InventoryOpt = None, env: EnvOpt = DEFAULT_ENV, json: JsonOpt = False) -> None:
    """Check the inventory: schema, unique names and addresses, references, fit. Exit 2 on problems."""
    from hatang.inventory.load import load

    try:
        inv = load(_dir(inventory), env)
    except InventoryError as exc:
        if json:
            print_json({"ok": False, "environment": env, "error": exc.message, "problems": [p.as_dict() for p in exc.problems] or exc.details})
            raise typer.Exit(exc.exit_code) from None
        raise
    summary = inv.summary()
    from hatang.cloud.capacity.assumptions import inventory_defaults  # capacity planning's silent defaults

    warnings = [a.warning() for a in inventory_defaults(inv)]
    if json:
        print_json({"ok": True, **summary, "warnings": warnings})
        return
    for warning in warnings:
        warn(warning)
    out.print(f"[green]ok[/]: the {env} inventory of {plain(summary['province'])} is valid" + (f" ({len(warnings)} warning(s): values left to defaults)" if warnings else ""))
    print_table(None, ["what", "count"], [(k, v if not isinstance(v, dict) else ", ".join(f"{r}={n}" for r, n in v.items())) for k, v in summary.items() if k not in ("environment", "province")])


@app.command()
def show(
    site: Annotated[str | None, typer.Argument(help="A site slug, GSO code or device name; none for a summary by district.")] = None,
    inventory: InventoryOpt = None,
    env: EnvOpt = DEFAULT_ENV,
    json: JsonOpt = False,
) -> None:
    """Show one site (its devices, ports and addresses) or the province by district."""
    from hatang.inventory.load import load
    from hatang.inventory.views import commune_rows, district_rows, site_detail

    inv = load(_dir(inventory), env)
    if site is None:
        rows = district_rows(inv)
        if json:
            print_json({"environment": env, "districts": rows, "communes": commune_rows(inv)})
            return
        print_table(f"{inv.province.name if inv.province else ''} — {env}", ["code", "district", "communes", "router", "loopback", "mgmt"], [list(r.values()) for r in rows])
        return
    detail = site_detail(inv, site)
    if json:
        print_json(detail)
        return
    out.print(f"[bold]{plain(detail['name'])}[/] " + plain(f"({detail['kind']}, key {detail['key']}" + (f", GSO {detail['code']}" if detail.get("code") else "") + ")"))
    if detail.get("lan"):
        out.print(plain(f"LAN {detail['lan']}"))
    for device in detail["devices"]:
        out.print(f"\n[bold]{plain(device['name'])}[/] " + plain(f"{device['role']} {device['platform']} mgmt {device['mgmt']} loopback {device['loopback']}"))
        print_table(None, ["port", "interface", "kind", "address", "peer", "peer address"], [(p["index"], p["name"], p["kind"], p["address"], p["peer"], p["peer_address"]) for p in device["ports"]])


@app.command()
def allocate(
    inventory: InventoryOpt = None,
    env: EnvOpt = DEFAULT_ENV,
    prune: Annotated[bool, typer.Option(help="Also release allocations whose owner left the inventory (validates first, shows them and asks).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be allocated; write nothing.")] = False,
    yes: YesOpt = False,
    json: JsonOpt = False,
) -> None:
    """Allocate addresses for whatever lacks them; existing allocations never move."""
    from hatang.inventory.allocate import allocate as do_allocate

    if prune and not dry_run and not yes:
        _confirm_release(do_allocate(_dir(inventory), env, prune=True, save=False), json)
    report = do_allocate(_dir(inventory), env, prune=prune, save=not dry_run)
    if json:
        print_json({"environment": env, "dry_run": dry_run, "added": report.added, "released": report.released})
        return
    if not report.added and not report.released:
        out.print(f"nothing to allocate: every owner in '{env}' has its addresses")
        return
    print_table(f"{'would change' if dry_run else 'changed'} ({env})", ["change", "purpose", "owner", "prefix"], [("+", *a) for a in report.added] + [("-", *r) for r in report.released])
    if report.previous:
        info(f"the previous plan is kept as {report.previous}")


def _confirm_release(preview, json: bool) -> None:
    """Show the allocations a prune would release and ask before any is released."""
    if not preview.released:
        return
    if json:
        raise UserAbort(f"--prune would release {len(preview.released)} allocation(s); add --yes to release them with --json", exit_code=2)
    print_table(f"would release ({preview.environment})", ["purpose", "owner", "prefix"], preview.released)
    if not typer.confirm(f"release these {len(preview.released)} allocation(s)?", default=False):
        raise UserAbort("prune cancelled; the address plan is unchanged")


@app.command()
def export(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="pyinfra, nornir, ansible or prometheus-sd")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (a file, or a directory for nornir); default stdout.")] = None,
    inventory: InventoryOpt = None,
    env: EnvOpt = DEFAULT_ENV,
) -> None:
    """Export the inventory for pyinfra, Nornir, Ansible or Prometheus file_sd."""
    from hatang.inventory import export as exporters
    from hatang.inventory.load import load

    if fmt not in EXPORT_FORMATS:
        raise InventoryError(f"unknown export format '{fmt}' (known: {', '.join(EXPORT_FORMATS)})", exit_code=2)
    inv = load(_dir(inventory), env)
    files = exporters.export(inv, fmt)
    if output is None:
        for name, text in files.items():
            if len(files) > 1:
                typer.echo(f"# --- {name}")
            typer.echo(text, nl=False)
        return
    if len(files) > 1 or output.is_dir():
        output.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (output / name).write_text(text, encoding="utf-8")
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(next(iter(files.values())), encoding="utf-8")
    typer.echo(f"wrote {', '.join(files)} to {output}", err=True)


@app.command()
def restructure(
    inventory: InventoryOpt = None,
    env: EnvOpt = DEFAULT_ENV,
    apply: Annotated[bool, typer.Option("--apply", help="Record each 2025 unit's headquarters in reorganisation.yaml.")] = False,
    json: JsonOpt = False,
) -> None:
    """Sites regrouped under their 2025 units: headquarters, service points, what changes per site."""
    from hatang import audit
    from hatang.inventory import restructure as r
    from hatang.inventory.load import load

    inv = load(_dir(inventory), env)
    result = r.plan(inv)
    applied = r.apply(inv, result) if apply else {}
    if applied:
        audit.append("restructure", {"inventory": str(inv.directory), "headquarters_set": applied})
        load(_dir(inventory), env)  # what was written validates
    if json:
        print_json({"environment": env, "applied": apply, "headquarters_set": applied, **result.as_dict()})
        return
    rows = [(u["unit"]["code"], u["unit"]["name"], u["headquarters"] + (" (new)" if u["unit"]["code"] in result.headquarters_to_set else ""), ", ".join(u["service_points"]) or "-") for u in result.units]
    print_table("2025 units: headquarters and service points", ["code", "unit", "headquarters", "service points"], rows)
    if result.awaiting:
        print_table("awaiting a decision (reorganisation.yaml 'decisions')", ["site", "GSO", "reason", "candidates"], [(a["site"], a["code"], a["reason"], ", ".join(a["candidates"])) for a in result.awaiting])
    out.print("nothing is renumbered: device names, addresses and links stay; descriptions and labels follow the 2025 units")
    if result.headquarters_to_set:
        out.print(f"{'recorded' if apply else 'would record'} {len(result.headquarters_to_set)} headquarters" + ("" if apply else " (run with --apply)"))
    else:
        out.print("nothing to apply: every unit has its headquarters")
