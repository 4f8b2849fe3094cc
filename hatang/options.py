"""Options every command shares, declared once so they read the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hatang.paths import DEFAULT_INVENTORY

InventoryOpt = Annotated[
    Path,
    typer.Option("--inventory", "-i", envvar="HATANG_INVENTORY", help="Inventory directory to read.", show_default=False),
]
EnvOpt = Annotated[
    str,
    typer.Option("--env", "-e", envvar="HATANG_ENV", help="Environment: lab or production."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]

DEFAULT_ENV = "lab"
DEFAULT_INVENTORY_DIR = DEFAULT_INVENTORY
