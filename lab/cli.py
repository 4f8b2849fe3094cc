"""``hatang lab``: the province on this machine: up, down, status, faults, secrets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from hatang.lab.context import LabContext

from hatang.console import out, plain, print_json, print_table, status_mark
from hatang.inventory.inventory import LAB_SIZES
from hatang.lab.context import DEFAULT_SIZE
from hatang.options import InventoryOpt, JsonOpt

app = typer.Typer(help="The province's WAN on this machine: real FRR routers, SSH and SNMP in namespaces.", no_args_is_help=True)
fault_app = typer.Typer(help="Break and repair the lab: links and devices.", no_args_is_help=True)
app.add_typer(fault_app, name="fault")

SizeOpt = Annotated[str, typer.Option("--size", "-s", help=f"Lab size: {', '.join(LAB_SIZES)}.")]


def _ctx(size: str | None = None, inventory: Path | None = None) -> "LabContext":
    from hatang.lab.context import LabContext

    return LabContext.load(size, inventory)


@app.command()
def up(
    size: SizeOpt = DEFAULT_SIZE,
    configured: Annotated[bool, typer.Option("--configured", help="Also push the rendered day-1 configs (hatang net).")] = False,
    inventory: InventoryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Build the lab of SIZE from the inventory (idempotent: a second run repairs)."""
    from hatang.lab import lifecycle

    lifecycle.check("hatang lab up")
    ctx = _ctx(size, inventory)
    timings = lifecycle.up(ctx, configured=configured)
    if json:
        print_json({"ok": True, "size": ctx.size, "devices": ctx.device_names, "seconds": timings})
        return
    out.print(f"[green]ok[/]: lab '{ctx.size}' is up: {len(ctx.device_names)} routers ({', '.join(f'{k} {v}s' for k, v in timings.items())})")


@app.command()
def down(json: JsonOpt = False) -> None:
    """Remove every namespace, interface, daemon, user and file the lab made."""
    from hatang.errors import HatangError
    from hatang.lab import lifecycle

    lifecycle.check("hatang lab down")
    failures = lifecycle.down(_ctx())
    if json:
        print_json({"ok": not failures, "failures": failures})
    if failures:
        raise HatangError("the lab is not fully down", details=failures)
    if not json:
        out.print("[green]ok[/]: the lab is down")


@app.command()
def status(json: JsonOpt = False) -> None:
    """Every device: namespace, daemons, management reachability; every component."""
    from hatang.lab import lifecycle

    lifecycle.check("hatang lab status")  # the lab's records are root's
    report = lifecycle.status(_ctx())
    if json:
        print_json(report)
        return
    if not report["up"]:
        out.print("[yellow]no lab is up[/] (start one with 'hatang lab up')")
    for name, comp in report["components"].items():
        if not comp["available"]:
            out.print(f"[dim]{plain(name)}: {plain(comp['note'])}[/]")
            continue
        if comp.get("error"):
            out.print(f"[red]{plain(name)}: {plain(comp['error'])}[/]")
            continue
        items = comp["items"]
        if not items:
            out.print(f"{name}: nothing running")
            continue
        columns = list(items[0].keys())
        print_table(f"{name} ({report['size']} lab)", columns, ([_cell(item[c]) for c in columns] for item in items))


def _cell(value) -> str:
    if isinstance(value, bool):
        return status_mark(value)
    if isinstance(value, dict):
        return " ".join(f"{k}:{'up' if v else 'DOWN'}" if isinstance(v, bool) else f"{k}:{v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


@app.command()
def secrets(
    show: Annotated[bool, typer.Option("--show", help="Print the values (hidden unless asked).")] = False,
    json: JsonOpt = False,
) -> None:
    """The lab's generated credentials: names only, values with --show."""
    from hatang.credentials import lab_secrets_file
    from hatang.errors import CredentialError
    from hatang.lab import lifecycle
    from hatang.lab import secrets as lab_secrets

    lifecycle.check("hatang lab secrets")
    values = lab_secrets.read()
    if values is None:
        raise CredentialError(f"no lab secrets at {lab_secrets_file()}: run 'hatang lab up' first")
    shown = {ref: {k: (v if show or k in ("username",) else "********") for k, v in fields.items()} for ref, fields in values.items()}
    if json:
        print_json({"file": str(lab_secrets_file()), "secrets": shown})
        return
    print_table(f"lab secrets ({lab_secrets_file()})", ["ref", "field", "value"], ((r, k, v) for r, f in shown.items() for k, v in f.items()))


@fault_app.command("link-down")
def link_down(a: str, b: str, json: JsonOpt = False) -> None:
    """Cut the inventory link between routers A and B (both ends lose carrier)."""
    _fault("link_down", a, b, json=json)


@fault_app.command("link-up")
def link_up(a: str, b: str, json: JsonOpt = False) -> None:
    """Repair the link between A and B."""
    _fault("link_up", a, b, json=json)


@fault_app.command()
def kill(device: str, json: JsonOpt = False) -> None:
    """Power DEVICE off: its daemons freeze and its interfaces lose carrier."""
    _fault("kill", device, json=json)


@fault_app.command()
def restore(device: str, json: JsonOpt = False) -> None:
    """Power DEVICE back on."""
    _fault("restore", device, json=json)


def _fault(action: str, *args: str, json: bool) -> None:
    from hatang.lab import faults, lifecycle

    lifecycle.check(f"hatang lab fault {action.replace('_', '-')}")
    result = getattr(faults, action)(_ctx(), *args)
    if json:
        print_json({"ok": True, **result})
    else:
        out.print(f"[green]ok[/]: {plain(result['summary'])}")
