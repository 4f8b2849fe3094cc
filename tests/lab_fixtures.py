"""The lab for tests: one small lab per test session, shared by every room's lab tests.

``lab_small`` holds the machine's lab lock (``/run/hatang-lab.lock``) for as long as the
lab is up, cleans whatever an earlier run left, brings the small lab up through the real
command (``hatang lab up --size small``), yields its :class:`LabContext`, and always
takes it down again. Tests using it are marked ``@pytest.mark.lab``.

With ``HATANG_TEST_LAB=shared`` (``tests/run-suites.sh``) the lab is the runner's: it
holds the lock, brings the lab up once and takes it down, and two sessions whose tests
touch different parts of it (the routers and monitoring; the servers and the cloud)
use it side by side.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from hatang.lab.context import LabContext

LAB_LOCK = Path("/run/hatang-lab.lock")
SHARED = os.environ.get("HATANG_TEST_LAB") == "shared"
HATANG = [sys.executable, "-m", "hatang.cli"]


def hatang_lab(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``hatang lab ARGS`` as the user would; fail the test with its output if asked."""
    proc = subprocess.run([*HATANG, "lab", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"hatang lab {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def lab_lock() -> Iterator[None]:
    """The machine's exclusive lab lock, held for the session (skip when not root)."""
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces, daemons, users)")
    if SHARED:  # the runner holds it
        yield
        return
    with open(LAB_LOCK, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def lab_small(lab_lock) -> Iterator["LabContext"]:
    """A small lab (core, one district, three communes), up and pushed (its districts and
    communes are managed in band: unreachable until the routers on their way are
    configured), for the whole session.

    Yields the LabContext: ``.inventory``, ``.device_names``, ``.inventory.mgmt(name)``,
    ``.secrets`` (also through ``hatang.credentials.secret(ref, field, env="lab")``).
    """
    from hatang.lab.context import LabContext

    if SHARED:
        yield LabContext.load()
        return
    hatang_lab("down", check=False)  # leftovers of an earlier, interrupted run
    try:
        hatang_lab("up", "--size", "small", "--configured")
        yield LabContext.load()
    finally:
        hatang_lab("down", check=False)
