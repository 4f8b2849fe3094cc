"""The ``hatang`` command: one front for every room. It only dispatches.

Each room exposes a Typer app in its own ``cli`` module; heavy libraries (napalm,
pysnmp, pyinfra…) are imported inside the commands, so ``hatang --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

from hatang import __version__
from hatang.console import err, plain
from hatang.errors import HatangError

app = typer.Typer(
    name="hatang",
    help="Infrastructure as code and operations for the provincial IIC: inventory, network, cloud, deploy, monitoring, runbooks, capacity, lab.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# (command name, module, attribute): the rooms' command groups.
GROUPS: list[tuple[str, str, str]] = [
    ("inventory", "hatang.inventory.cli", "app"),
    ("lab", "hatang.lab.cli", "app"),
    ("net", "hatang.network.cli", "app"),
    ("site", "hatang.network.cli", "site_app"),
    ("cloud", "hatang.cloud.cli", "app"),
    ("capacity", "hatang.cloud.capacity_cli", "app"),
    ("deploy", "hatang.deploy.cli", "app"),
    ("monitor", "hatang.monitoring.cli", "app"),
    ("sla", "hatang.monitoring.cli", "sla_app"),
    ("runbook", "hatang.runbooks.cli", "app"),
]

for _name, _module, _attr in GROUPS:
    try:
        _group = getattr(importlib.import_module(_module), _attr)
    except ModuleNotFoundError as exc:
        if exc.name != _module:
            raise
        continue  # a room not built yet simply has no commands
    app.add_typer(_group, name=_name)


@app.command()
def demo(size: str = typer.Option("province", help="Lab size: small, district or province.")) -> None:
    """The whole flow on the lab: province up, cloud applied, routers pushed, hosts deployed,
    a fault injected and cleared, and the availability report."""
    from hatang.demo import run

    run(size)


@app.command()
def version() -> None:
    """Print hatang's version."""
    typer.echo(__version__)


def main() -> None:
    """Entry point: run the app and turn hatang's errors into a message and an exit code.

    Typer's standalone mode handles usage errors and ``typer.Exit`` itself; hatang's own
    errors pass through it and are printed here, without a traceback.
    """
    try:
        app()
    except HatangError as exc:
        err.print(f"[bold red]error:[/] {plain(exc.message)}")
        for line in exc.details:
            err.print(f"  {plain(line)}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
