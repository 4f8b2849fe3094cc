"""Where hatang reads and writes: the repository, the default inventory, its state.

State (the lab's records, backups, the audit log) lives outside the repository so that
nothing generated, and no credential, is ever committed. ``HATANG_STATE_DIR`` moves it.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path

from hatang.errors import HatangError


def room_dir(room: str) -> Path:
    """The folder of ``hatang.<room>``: the top-level folder in a checkout, the package
    folder in an installed wheel (found without importing the room)."""
    spec = find_spec(f"hatang.{room}")
    if spec is None or spec.origin is None:
        raise HatangError(f"hatang.{room} is not installed: reinstall hatang")
    return Path(spec.origin).resolve().parent


DEFAULT_INVENTORY = room_dir("inventory")
# The checkout, for development tools only (benchmarks writing docs/): an installed wheel
# has no checkout, so nothing read at run time may be found through it (use room_dir).
REPO_ROOT = Path(__file__).resolve().parent.parent


def state_dir() -> Path:
    """The root of hatang's state: ``$HATANG_STATE_DIR``, else /var/lib/hatang as root."""
    env = os.environ.get("HATANG_STATE_DIR")
    if env:
        path = Path(env)
    elif os.geteuid() == 0:
        path = Path("/var/lib/hatang")
    else:
        path = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local/state")) / "hatang"
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_path(*parts: str) -> Path:
    """A directory under the state root, created on first use."""
    path = state_dir().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
