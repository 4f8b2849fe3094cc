"""What every lab component is handed: the inventory, the size, the state directory, the
secrets, the devices of this lab, and the process registry to start daemons through.

Other rooms' components (``hosts``, ``pvesim``, ``monitoring``) start their daemons with
:meth:`LabContext.spawn` and stop them with :meth:`LabContext.stop` /
:meth:`LabContext.stop_all`, so ``hatang lab down`` finds every one of them by its
recorded pid and start time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from hatang.errors import HatangError
from hatang.inventory import load as load_inventory
from hatang.inventory import model as m
from hatang.inventory.inventory import LAB_SIZES, Inventory
from hatang.lab import secrets as lab_secrets
from hatang.lab.processes import Process, Registry, Spawn, is_alive
from hatang.paths import MERGED_INVENTORY, state_path

DEFAULT_SIZE = "province"  # the demo's; it meets the goal (up ≤ 60 s, < 4 GiB): see docs/benchmarks.md
STATE_FILE = "lab.json"


def lab_state_dir() -> Path:
    return state_path("lab")


def read_state() -> dict:
    """The recorded lab (size, inventory, configured), or {} when no lab was brought up."""
    path = lab_state_dir() / STATE_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}


def write_state(state: dict) -> None:
    path = lab_state_dir() / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, path)


@dataclass
class LabContext:
    inventory: Inventory
    size: str
    state_dir: Path
    configured: bool = False
    registry: Registry = field(init=False)

    def __post_init__(self) -> None:
        self.registry = Registry(self.state_dir)

    @classmethod
    def load(cls, size: str | None = None, inventory_dir: Path | None = None) -> "LabContext":
        """The lab as recorded by the last ``up`` (or a fresh one of ``size``)."""
        state = read_state()
        size = size or state.get("size") or DEFAULT_SIZE
        if inventory_dir is None and size == "merged":
            inventory_dir = MERGED_INVENTORY  # the merged province's inventory, not the default
        if inventory_dir is None and state.get("inventory"):
            inventory_dir = Path(state["inventory"])
        if size not in LAB_SIZES:
            raise HatangError(f"unknown lab size '{size}' (known: {', '.join(LAB_SIZES)})")
        inv = load_inventory(inventory_dir, "lab")
        return cls(inv, size, lab_state_dir(), configured=bool(state.get("configured")))

    def record(self) -> None:
        """Write lab.json: what ``status``, ``down`` and other rooms read back."""
        write_state({"size": self.size, "inventory": str(self.inventory.directory), "configured": self.configured})

    # --- what the lab holds --------------------------------------------------------

    @cached_property
    def devices(self) -> list[m.Device]:
        """The routers of this lab, in push order (core, districts, communes)."""
        return self.inventory.lab_devices(self.size)

    @cached_property
    def device_names(self) -> list[str]:
        return [d.name for d in self.devices]

    @property
    def secrets(self) -> dict[str, dict[str, str]]:
        """The generated credentials (created on first use, kept by later runs)."""
        return lab_secrets.ensure()

    def path(self, *parts: str) -> Path:
        """A directory under the lab's state directory, created on first use."""
        path = self.state_dir.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    # --- the process registry --------------------------------------------------------

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        netns: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log: Path | None = None,
        hostname: str | None = None,
    ) -> int:
        """Start a foreground daemon (in ``netns`` if given) and record it; returns its pid.
        A daemon of that name already running is left alone (its pid is returned)."""
        return self.registry.spawn([Spawn(name, list(argv), netns, env, cwd, log, hostname)])[0].pid

    def spawn_many(self, specs: Sequence[Spawn]) -> list[Process]:
        """Start many daemons with one registry write (what the routers do, 700 at a time)."""
        return self.registry.spawn(specs)

    def running(self, name: str) -> bool:
        proc = self.registry.read().get(name)
        return proc is not None and is_alive(proc)

    def stop(self, name: str) -> bool:
        """Stop the recorded daemon ``name`` (TERM, wait, KILL); False if none was recorded."""
        return bool(self.registry.stop(name, exact=True))

    def stop_all(self, prefix: str) -> list[str]:
        """Stop every recorded daemon whose name starts with ``prefix``, all at once."""
        return self.registry.stop(prefix)
