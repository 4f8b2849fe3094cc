"""Only the lab's Linux hosts, under the machine's lab lock, for benches that need servers
but no routers: taken down again (and any earlier lab with them) whatever happens."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hatang.lab.context import LabContext

LAB_LOCK = Path("/run/hatang-lab.lock")


@contextmanager
def lab_hosts(names: list[str] | tuple[str, ...]) -> Iterator["LabContext"]:
    """The small lab's context with only the hosts ``names`` up (``HATANG_LAB_HOSTS``)."""
    from hatang.lab import hosts
    from hatang.lab.context import LabContext

    os.environ["HATANG_LAB_HOSTS"] = ",".join(names)
    with open(LAB_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run([sys.executable, "-m", "hatang.cli", "lab", "down"], capture_output=True)
        ctx = LabContext.load("small")
        try:
            hosts.up(ctx)
            yield ctx
        finally:
            hosts.down(ctx)
            subprocess.run([sys.executable, "-m", "hatang.cli", "lab", "down"], capture_output=True)
