"""The read-only checks runbooks can declare, by name.

Each check is a function of a :class:`~hatang.runbooks.context.CheckContext` returning
an :class:`~hatang.runbooks.context.Outcome`. Adding a check is adding a function here
and naming it in a runbook's ``diagnostics``; the engine stays generic.
"""

from __future__ import annotations

from hatang.runbooks.checks import backups, changes, reachability, routing, service, snmp
from hatang.runbooks.context import Check

CHECKS: dict[str, Check] = {
    "mgmt_ping": reachability.mgmt_ping,
    "mgmt_ssh": reachability.mgmt_ssh,
    "loopback_from_core": reachability.loopback_from_core,
    "interfaces": snmp.interfaces,
    "ports_enabled": snmp.ports_enabled,
    "port_flaps": snmp.port_flaps,
    "interface_errors": snmp.interface_errors,
    "interface_load": snmp.interface_load,
    "uptime": snmp.uptime,
    "ospf_neighbors": routing.ospf_neighbors,
    "arp": routing.arp,
    "recent_pushes": changes.recent_pushes,
    "recent_reverts": changes.recent_reverts,
    "backup_diff": changes.backup_diff,
    "exporter": service.exporter,
    "backup_freshness": backups.backup_freshness,
}

#: What each check reads: a getter of the state layer (``hatang.network.state``;
#: ``@core``: asked of the core router) or a source that is not the device's driver.
#: ``docs/platforms.md`` is generated from this (``hatang net platforms --write``).
NEEDS: dict[str, tuple[str, ...]] = {
    "mgmt_ping": ("ICMP from hatang's host",),
    "mgmt_ssh": ("TCP 22 from hatang's host",),
    "loopback_from_core": ("ping@core",),
    "interfaces": ("SNMP IF-MIB",),
    "ports_enabled": ("SNMP IF-MIB",),
    "interface_errors": ("SNMP IF-MIB",),
    "interface_load": ("SNMP IF-MIB",),
    "uptime": ("SNMP sysUpTime",),
    "port_flaps": ("flaps",),
    "ospf_neighbors": ("ospf_neighbors",),
    "arp": ("arp",),
    "recent_pushes": ("hatang's audit log",),
    "recent_reverts": ("hatang's audit log",),
    "backup_diff": ("hatang's backup repository",),
    "exporter": ("HTTP to hatang's exporter",),
    "backup_freshness": ("the Proxmox API of the private cloud",),
}
