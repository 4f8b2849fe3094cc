"""Where hatang reads and writes: the repository, the default inventory, its state.

State (the lab's records, backups, the audit log) lives outside the repository so that
nothing generated, and no credential, is ever committed. ``HATANG_STATE_DIR`` moves it.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INVENTORY = REPO_ROOT / "inventory"


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
