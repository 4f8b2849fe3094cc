"""Intended versus running, per device: what a push would change, or what drifted.

Both ``hatang net diff`` and ``hatang net drift`` read the difference between each
router's running configuration and the rendered one through the state layer
(``config_diff`` of :mod:`hatang.network.state`: the router's own diff engine — hatang's
commit agent on FRR, the platform's candidate diff under napalm — or, on VRP, the
running configuration read by the layer against the intended lines); nothing is
committed, every candidate is discarded. ``docs/platforms.md`` shows the source on
each platform.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from napalm.base import NetworkDriver
from rich.text import Text

from hatang.inventory.inventory import Inventory
from hatang.network.connect import one_login_driver_for
from hatang.network.render import Renderer
from hatang.network.state import state_reader
from hatang.results import Result, Results, run_per_host

#: What ``net drift`` and ``net diff`` read: a getter of the state layer (docs/platforms.md).
NEEDS = {"drift": ("config_diff",), "diff": ("config_diff",)}


def compare(
    inv: Inventory,
    devices: Sequence[str],
    *,
    open_driver: Callable[[Inventory, str], NetworkDriver] = one_login_driver_for,
    show_progress: bool = True,
    label: str = "comparing",
) -> Results:
    """One Result per device: ``diff`` (empty when in sync), ``changed`` when it differs."""
    renderer = Renderer(inv)
    configs = {name: renderer.render(name).text for name in devices}

    def task(name: str) -> Result:
        driver = open_driver(inv, name)
        driver.open()
        try:
            diff = state_reader(driver, inv.platform(name).value).config_diff(configs[name])
        finally:
            driver.close()
        return Result(host=name, changed=bool(diff), diff=diff)

    return run_per_host(devices, task, label=label, show_progress=show_progress)


def coloured(diff: str) -> Text:
    """A diff for the terminal: additions green, deletions red, context dim."""
    text = Text()
    for line in diff.splitlines():
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
        text.append(line + "\n", style=style)
    return text


def summary(diff: str) -> str:
    """"+3 -1" for a diff."""
    lines = diff.splitlines()
    added = sum(1 for line in lines if line.startswith("+"))
    removed = sum(1 for line in lines if line.startswith("-"))
    return f"+{added} -{removed}"
