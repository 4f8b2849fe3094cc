"""The lab's components, in the order ``up`` starts them (``down`` goes in reverse).

A component is a module (or package) exposing::

    name: str
    def up(ctx: LabContext) -> None       # idempotent: repairs what is missing, starts nothing twice
    def down(ctx: LabContext) -> None     # by recorded ids; tolerant of partial state
    def status(ctx: LabContext) -> list[dict]
    requires: dict[str, str]              # optional: program path or name -> Debian package

Each room adds its own line here; a module not written yet is skipped (and ``status``
says so), so the lab never breaks because another room is still at work.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

# (name, module): the order of ``up``.
COMPONENTS: list[tuple[str, str]] = [
    ("routers", "hatang.lab.routers"),
    ("hosts", "hatang.lab.hosts"),
    ("pvesim", "hatang.lab.pvesim"),
    ("monitoring", "hatang.lab.monitoring"),
]


VERBS = ("up", "down", "status")


@dataclass(frozen=True)
class Entry:
    name: str
    module_path: str
    module: ModuleType | None  # None: not written yet

    @property
    def requires(self) -> dict[str, str]:
        return dict(getattr(self.module, "requires", {}) or {})


def entries() -> list[Entry]:
    """Every registered component, imported; missing modules come back with ``module=None``."""
    found = []
    for name, path in COMPONENTS:
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name is None or not path.startswith(exc.name):
                raise  # the module exists but one of its own imports is missing: a real error
            module = None
        if module is not None and not all(callable(getattr(module, verb, None)) for verb in VERBS):
            module = None  # being written: not a component yet
        found.append(Entry(name, path, module))
    return found


def available() -> list[Entry]:
    return [e for e in entries() if e.module is not None]
