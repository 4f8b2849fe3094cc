"""The lab's login accounts on this machine (every router's sshd shares the host's passwd).

- the network user (``net-admin``) lands in ``vtysh -N <router>``;
- the read-only user (``net-readonly``) lands in a ``show``-only shell on ``vtysh``;
- the admin user (``lab-admin``) gets bash inside the router's namespace, in the FRR
  groups, so it can run ``vtysh -N <router>`` and ``frr-reload.py --pathspace <router>``.

Accounts carry a marker in their GECOS field; ``down`` removes only accounts bearing it.
"""

from __future__ import annotations

import pwd
import subprocess
from pathlib import Path

from hatang.errors import HatangError
from hatang.lab.secrets import ADMIN_USER, LAB_USERS, NET_USER, READONLY_USER

MARKER = "hatang lab user"
GROUPS = "frrvty,frr"  # vtysh's sockets, and /etc/frr (0750 frr:frr) for vtysh.conf and write memory
SHELLS = {NET_USER: "/bin/sh", READONLY_USER: "/bin/sh", ADMIN_USER: "/bin/bash"}
REFS = {NET_USER: "net-admin", READONLY_USER: "net-readonly", ADMIN_USER: "lab-admin"}


def _exists(user: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(user)
    except KeyError:
        return None


def _run(argv: list[str], stdin: str | None = None) -> None:
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        raise HatangError(f"'{' '.join(argv[:1] + argv[-1:])}' failed: {proc.stderr.strip()}")


def ensure(secrets: dict[str, dict[str, str]], home_root: Path) -> None:
    """Create the lab's users if missing and (re)set their passwords from the secrets."""
    for user in LAB_USERS:
        entry = _exists(user)
        if entry is not None and entry.pw_gecos != MARKER:
            raise HatangError(f"user '{user}' exists on this machine and is not the lab's: remove or rename it")
        if entry is None:
            _run(["useradd", "--system", "--create-home", "--home-dir", str(home_root / user),
                  "--shell", SHELLS[user], "--comment", MARKER, "--groups", GROUPS, user])
    _run(["chpasswd"], "".join(f"{u}:{secrets[REFS[u]]['password']}\n" for u in LAB_USERS))


def remove() -> list[str]:
    """Delete the lab's accounts (only those bearing the marker); returns their names.
    Their sessions lived in the routers' namespaces and are gone by now."""
    removed = []
    for user in LAB_USERS:
        entry = _exists(user)
        if entry is None or entry.pw_gecos != MARKER:
            continue
        _run(["userdel", "--remove", user])
        removed.append(user)
    return removed


def present() -> list[str]:
    return [u for u in LAB_USERS if (e := _exists(u)) is not None and e.pw_gecos == MARKER]
