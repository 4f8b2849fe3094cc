"""``up``, ``down`` and ``status`` of the whole lab: each component in turn.

``up`` records the lab (size, inventory) before it starts anything, so an interrupted
``up`` is still found and removed by ``down``. ``down`` runs every component's ``down``
even when one fails, then removes the lab's state, and reports what failed.
"""

from __future__ import annotations

import shutil
import time

from hatang.console import info, warn
from hatang.errors import HatangError
from hatang.lab import components, netbuild, preflight
from hatang.lab import secrets as lab_secrets
from hatang.lab.context import LabContext, lab_state_dir, read_state
from hatang.lab.processes import is_alive


def _requirements() -> dict[str, str]:
    needs: dict[str, str] = {}
    for entry in components.available():
        needs.update(entry.requires)
    return needs


def check(command: str) -> None:
    preflight.check(command, _requirements())


def up(ctx: LabContext, *, configured: bool = False) -> dict[str, float]:
    """Bring every component up, in order; returns the seconds each took."""
    running = read_state().get("size")
    if running and running != ctx.size and netbuild.lab_netns():
        raise HatangError(f"a '{running}' lab is up: run 'hatang lab down' before bringing up a '{ctx.size}' lab")
    ctx.record()
    lab_secrets.ensure()  # generated before any component needs them
    timings: dict[str, float] = {}
    for entry in components.available():
        started = time.monotonic()
        info(f"lab up: {entry.name}")
        entry.module.up(ctx)
        timings[entry.name] = round(time.monotonic() - started, 2)
    if configured:
        timings["configure"] = _configure(ctx)
        ctx.configured = True  # recorded once the push succeeded
        ctx.record()
    return timings


def _configure(ctx: LabContext) -> float:
    """Push the rendered day-1 configs with the network room's API, when it exists."""
    try:
        from hatang.network import push as network_push
    except ModuleNotFoundError as exc:
        if exc.name != "hatang.network.push":
            raise
        raise HatangError(
            "--configured needs the network room's push (hatang.network.push), which is not available yet; "
            "the lab is up with day-0 configs (run 'hatang net push --env lab' when it is)"
        ) from None
    started = time.monotonic()
    network_push.push_lab(ctx)
    return round(time.monotonic() - started, 2)


def down(ctx: LabContext) -> list[str]:
    """Take every component down in reverse order; returns the failures (empty if none)."""
    failures: list[str] = []
    for entry in reversed(components.available()):
        try:
            entry.module.down(ctx)
        except Exception as exc:  # one component's failure must not leave the others up
            failures.append(f"{entry.name}: {exc}")
            failures.extend(f"{entry.name}:   {line}" for line in getattr(exc, "details", []))
            warn(f"lab down: {entry.name}: {exc}")
    left = [p.name for p in ctx.registry.select() if is_alive(p)]
    ctx.registry.stop("")  # whatever a component forgot, it recorded: stop it too
    failures.extend(f"{name}: was still running after its component's down" for name in left)
    if not failures:
        lab_secrets.remove()
        shutil.rmtree(lab_state_dir(), ignore_errors=True)
    return failures


def status(ctx: LabContext) -> dict:
    """Every component's status (those not written yet say so)."""
    report: dict = {"size": ctx.size, "up": bool(read_state()) and bool(netbuild.lab_netns()), "configured": ctx.configured, "components": {}}
    for entry in components.entries():
        if entry.module is None:
            report["components"][entry.name] = {"available": False, "note": f"{entry.module_path} is not written yet (or lacks up/down/status)", "items": []}
            continue
        try:
            items = entry.module.status(ctx)
            report["components"][entry.name] = {"available": True, "items": items}
        except Exception as exc:
            report["components"][entry.name] = {"available": True, "error": str(exc), "items": []}
    return report
