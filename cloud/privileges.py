"""The privileges hatang's ``pve-api`` token needs, and the check made before an apply.

Each entry is (ACL path, privilege, why), as PVE checks them (qemu-server
src/PVE/API2/Qemu.pm, pve-container src/PVE/API2/LXC.pm, pve-ha-manager
src/PVE/API2/HA/*.pm, pve-access-control src/PVE/RPCEnvironment.pm). The roles that
carry them are in docs/cloud.md. A plan reads the token's privileges first
(``/access/permissions``: one call, the privileges on each path of its ACL; a path's
effective privileges are those of its most specific listed ancestor, as PVE propagates
them) and an apply refuses to start with the full list of what is missing, rather than
failing half-way with a 403.
"""

from __future__ import annotations

from hatang.cloud.client import Pve
from hatang.errors import HatangError

BRIDGE_PATH = "/sdn/zones/localnetwork/vmbr0"

READ: tuple[tuple[str, str, str], ...] = (
    ("/vms", "VM.Audit", "see every guest in /cluster/resources (a hidden one would be created again)"),
    ("/", "Sys.Audit", "see the nodes, their state and size in /cluster/resources"),
    ("/storage", "Datastore.Audit", "list the container templates and storage in /cluster/resources"),
)
APPLY: tuple[tuple[str, str, str], ...] = (
    ("/vms", "VM.Clone", "clone the template VM"),
    ("/vms", "VM.Allocate", "create guests (clone target, container create) and destroy them"),
    ("/vms", "VM.Config.CPU", "set cores"),
    ("/vms", "VM.Config.Memory", "set memory"),
    ("/vms", "VM.Config.Disk", "add and grow disks"),
    ("/vms", "VM.Config.Network", "set NICs and their VLAN"),
    ("/vms", "VM.Config.Cloudinit", "set the cloud-init user, keys and address"),
    ("/vms", "VM.Config.Options", "set tags, description, onboot"),
    ("/vms", "VM.PowerMgmt", "start, stop and reboot guests"),
    ("/vms", "VM.Migrate", "move guests to their planned node"),
    ("/storage", "Datastore.AllocateSpace", "allocate disks on the guests' storage"),
    ("/", "Sys.Console", "HA resources, HA rules and HA migrations (pve-ha-manager checks Sys.Console on /)"),
    (BRIDGE_PATH, "SDN.Use", "plug NICs into the bridge and its VLANs (clone and config check SDN.Use on the bridge)"),
    ("/", "Sys.Modify", "write the backup jobs (/cluster/backup checks Sys.Modify on /; no built-in role but Administrator has it)"),
)


Held = dict[str, dict[str, int]]


def held(pve: Pve) -> Held:
    """The token's privileges per ACL path (one call)."""
    return pve.get("access/permissions") or {}


def effective(privileges: Held, path: str) -> set[str]:
    """The privileges on ``path``: those of the most specific listed path above it."""
    above = [p for p in privileges if p == "/" or path == p or path.startswith(p.rstrip("/") + "/")]
    best = max(above, key=lambda p: len(p.rstrip("/")), default=None)
    return {name for name, on in (privileges.get(best) or {}).items() if on} if best else set()


def missing(privileges: Held, needed: tuple[tuple[str, str, str], ...]) -> list[str]:
    """What the token lacks of ``needed``, one line each with the reason."""
    return [f"{privilege} on {path}: {why}" for path, privilege, why in needed if privilege not in effective(privileges, path)]


def require_read_privileges(pve: Pve) -> Held:
    """Refuse a token that cannot see the cluster whole before planning: PVE leaves out of
    /cluster/resources the guests a token may not audit, and a plan would create them again."""
    privileges = held(pve)
    if "VM.Audit" not in effective(privileges, "/vms"):
        raise HatangError(
            f"{pve.cluster}: the 'pve-api' token cannot see every guest (no VM.Audit on /vms): a plan would take the guests it cannot see for missing ones",
            details=["give the token a role with VM.Audit on / (PVEAuditor to plan; docs/cloud.md lists what apply needs)"],
        )
    lacking = missing(privileges, READ)
    if lacking:
        raise HatangError(f"{pve.cluster}: the 'pve-api' token cannot read the whole cluster", details=lacking + ["PVEAuditor on / is enough to plan"])
    return privileges


def require_apply_privileges(pve: Pve) -> None:
    lacking = missing(held(pve), READ + APPLY)
    if lacking:
        raise HatangError(
            f"{pve.cluster}: the 'pve-api' token lacks {len(lacking)} privilege(s) apply needs; nothing was changed",
            details=lacking + ["docs/cloud.md lists the roles that carry them (PVEVMAdmin and PVEDatastoreUser are not enough)"],
        )
