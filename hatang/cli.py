"""The ``hatang`` command: one front for every room. It only dispatches.

Each room exposes a Typer app in its own ``cli`` module; heavy libraries (napalm,
pysnmp, pyinfra…) are imported inside the commands, so ``hatang --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

from hatang import __version__
from hatang.console import err
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
def version() -> None:
    """Print hatang's version."""
    typer.echo(__version__)


def main() -> None:
    """Entry point: run the app and turn hatang's errors into a message and an exit code."""
    try:
        app(standalone_mode=False)
    except HatangError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        for line in exc.details:
            err.print(f"  {line}")
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(3)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", None)
        if code is None:
            code = getattr(exc, "code", 0)
        sys.exit(code or 0)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # click's usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
