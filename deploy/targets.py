"""Which servers a command acts on: ``--limit`` patterns over the inventory's servers.

A pattern is a host name, a group name (``pve_nodes``, ``service_csdl``,
``role_web_portal``…) or a shell glob of names. In the lab environment, without
``--limit``, only the servers the lab runs are chosen (the others do not exist there).
"""

from __future__ import annotations

from fnmatch import fnmatch

from hatang.errors import HatangError
from hatang.inventory.inventory import Inventory, LinuxHost
from hatang.paths import state_dir


def groups(host: LinuxHost) -> set[str]:
    return {*host.groups, *(f"role_{r.replace('-', '_')}" for r in host.roles)}


def _lab_running(hosts: list[LinuxHost]) -> list[LinuxHost]:
    from hatang.lab.hosts import running_names

    running = set(running_names(state_dir() / "lab"))
    return [h for h in hosts if h.name in running]


def select(inv: Inventory, limit: list[str] | None, *, role: str | None = None) -> list[LinuxHost]:
    """The servers (with ``role``, if given) matching a ``limit`` pattern; raises
    HatangError naming a pattern that matches nothing."""
    members = [h for h in inv.linux_hosts() if role is None or role in h.roles]
    what = f"with the role '{role}'" if role else "in the inventory"
    if not members:
        raise HatangError(f"no server {what}")
    if not limit:
        if inv.env == "lab":
            members = _lab_running(members)
            if not members:
                raise HatangError(f"no server {what} runs in the lab (run 'hatang lab up', or name hosts with --limit)")
        return members
    chosen: list[LinuxHost] = []
    for pattern in limit:
        matched = [h for h in members if fnmatch(h.name, pattern) or pattern in groups(h)]
        if not matched:
            raise HatangError(f"--limit '{pattern}' matches no server {what}",
                              details=[f"servers {what}: {', '.join(h.name for h in members)}"])
        chosen.extend(h for h in matched if h not in chosen)
    return chosen
