"""Options every command shares, declared once so they read the same everywhere."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from hatang.paths import DEFAULT_INVENTORY

if TYPE_CHECKING:
    from hatang.inventory.inventory import Inventory

F = TypeVar("F", bound=Callable[..., Any])

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


@dataclass(frozen=True)
class Scope:
    """What a command reads and how it answers, from the options commands share:
    ``--inventory``, ``--env``, ``--json`` and, where the command takes one, a selection
    (``--cluster``…) given to :func:`scoped`."""

    inventory: Path | None
    env: str
    json: bool
    selected: list[str] | None = None

    def load(self) -> "Inventory":
        from hatang.inventory import load

        return load(self.inventory, self.env)


def scoped(select: Any = None) -> Callable[[F], F]:
    """Declare the shared options once: a command whose first parameter is ``scope:
    Scope`` is shown to Typer with ``--inventory`` and ``--env`` after its arguments,
    ``select`` (an Annotated option, its parameter named ``selected``) after them, its
    own options, then ``--json``; it is called with the Scope they make."""

    def wrap(command: F) -> F:
        own = list(inspect.signature(command, eval_str=True).parameters.values())
        if not own or own[0].name != "scope":
            raise TypeError(f"{command.__name__}: a scoped command takes scope: Scope first")
        own = own[1:]
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        shared = [inspect.Parameter("inventory", kind, default=None, annotation=InventoryOpt),
                  inspect.Parameter("env", kind, default=DEFAULT_ENV, annotation=EnvOpt)]
        if select is not None:
            shared.append(inspect.Parameter("selected", kind, default=None, annotation=select))
        arguments = [p.replace(kind=kind) for p in own if p.default is inspect.Parameter.empty]
        options = [p.replace(kind=kind) for p in own if p.default is not inspect.Parameter.empty]
        parameters = [*arguments, *shared, *options, inspect.Parameter("json", kind, default=False, annotation=JsonOpt)]

        @functools.wraps(command)
        def run(**values: Any) -> Any:
            scope = Scope(values.pop("inventory"), values.pop("env"), values.pop("json"), values.pop("selected", None))
            return command(scope, **values)

        run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        return run  # type: ignore[return-value]

    return wrap
