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
#: The merged province of 2025 (Vĩnh Phúc, Phú Thọ, Hòa Bình): ``--inventory`` names it,
#: ``hatang lab up --size merged`` uses it by default (docs/reorganisation-2025.md).
MERGED_INVENTORY = DEFAULT_INVENTORY / "merged"
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


def private_directory(path: Path, *, ours: bool = False) -> Path:
    """``path`` as a directory only its owner can enter (0700), created if missing.

    Backups and rendered configurations hold password hashes and SNMP keys. A directory
    of hatang's own (``ours``: the state's backups) is tightened if it was not; one the
    user named that others can enter (``-o /tmp``, say) is refused, not chmod'ed.
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777
        if mode & 0o077 and ours:
            path.chmod(0o700)
        elif mode & 0o077:
            raise HatangError(f"{path} can be read by others (mode {mode:04o}): it would hold secrets; use a new directory or 'chmod 700' it", exit_code=2)
    except OSError as exc:
        raise HatangError(f"cannot create the directory {path}: {exc.strerror}", exit_code=2) from None
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (0600) from the first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
