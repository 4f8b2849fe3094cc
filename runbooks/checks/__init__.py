"""The read-only checks runbooks can declare, by name.

Each check is a function of a :class:`~hatang.runbooks.context.CheckContext` returning
an :class:`~hatang.runbooks.context.Outcome`. Adding a check is adding a function here
and naming it in a runbook's ``diagnostics``; the engine stays generic.
"""

from __future__ import annotations

from hatang.runbooks.checks import changes, reachability, routing, service, snmp
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
}
