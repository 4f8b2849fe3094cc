"""Before the lab touches the machine: is this root, and are the Debian packages there?

The messages name what is missing (the Debian package, not only the program), so the
user can fix it in one command.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping

from hatang.errors import MissingDependencyError, NeedsRootError

# Program (absolute path or name on $PATH) -> the Debian package that ships it.
REQUIRES: dict[str, str] = {
    "ip": "iproute2",
    "tc": "iproute2",
    "ping": "iputils-ping",
    "useradd": "passwd",
    "/usr/lib/frr/zebra": "frr",
    "/usr/lib/frr/ospfd": "frr",
    "/usr/lib/frr/staticd": "frr",
    "/usr/bin/vtysh": "frr",
    "/usr/lib/frr/frr-reload.py": "frr-pythontools",
    "/usr/sbin/sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "/usr/sbin/snmpd": "snmpd",
}


def root_message(command: str = "hatang lab") -> str:
    """What to tell a user who is not root."""
    return (
        f"'{command}' needs root: it creates network namespaces, interfaces and users and "
        "starts routers (FRR, sshd, snmpd); run it as root (sudo)"
    )


def missing_packages(requires: Mapping[str, str]) -> dict[str, list[str]]:
    """Debian package -> the programs of it that are not installed."""
    missing: dict[str, list[str]] = {}
    for program, package in requires.items():
        found = os.access(program, os.X_OK) if program.startswith("/") else shutil.which(program)
        if not found:
            missing.setdefault(package, []).append(program)
    return missing


def missing_message(missing: Mapping[str, Iterable[str]]) -> str:
    packages = " ".join(sorted(missing))
    return f"the lab needs Debian packages that are not installed: {packages} (install them: apt-get install {packages})"


def check(command: str, extra: Mapping[str, str] | None = None, *, euid: int | None = None) -> None:
    """Raise a clear error when not root or when a needed Debian package is missing."""
    if (os.geteuid() if euid is None else euid) != 0:
        raise NeedsRootError(root_message(command))
    missing = missing_packages({**REQUIRES, **(extra or {})})
    if missing:
        raise MissingDependencyError(
            missing_message(missing),
            details=[f"{pkg}: {', '.join(progs)} not found" for pkg, progs in sorted(missing.items())],
        )
