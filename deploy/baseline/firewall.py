"""The host firewall of the baseline (controls FW-01 and AUTH-07): nftables, inbound
traffic dropped but what each of the host's roles serves, to the sources the inventory
gives.

The rules are written exactly as ``nft list`` prints them back, so the audit compares
the live chain with these lines as text: the firewall the kernel enforces, not the file.
Only the ``inet hatang`` table is hatang's; a drop there is final whatever other
tables accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_network

from hatang.deploy.baseline.content import HEADER
from hatang.deploy.intent import HostIntent

TABLE = "inet hatang"
#: Every host: replies, loopback, ping (the monitoring's reachability probe).
COMMON = (
    "ct state established,related accept", "ct state invalid drop", 'iif "lo" accept',
    "meta l4proto icmp accept", "meta l4proto ipv6-icmp accept",
)
SSH_PORT = "22"


@dataclass(frozen=True)
class Rules:
    ssh: tuple[str, ...]  # the rules accepting SSH (AUTH-07)
    other: tuple[str, ...]  # every other rule of the input chain (FW-01)


def _set(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def accept(proto: str, ports: list[str], sources: tuple[str, ...] | list[str] = ()) -> str:
    """One rule in ``nft list``'s spelling (sources and ports sorted, as nft prints them)."""
    ordered = sorted(sources, key=lambda s: ip_network(s, strict=False))
    source = f"ip saddr {_set([s.removesuffix('/32') for s in ordered])} " if ordered else ""
    return f"{source}{proto} dport {_set(sorted(ports, key=lambda p: int(p.split('-')[0])))} accept"


def rules(intent: HostIntent) -> Rules:
    roles, admins = intent.host.roles, intent.admin_networks
    ssh = [accept("tcp", [SSH_PORT], admins)]
    other = [*COMMON, accept("udp", ["161"], admins)]  # SNMP: the monitoring polls from the management network
    if "backup-server" in roles and intent.backup_clients:
        ssh.append(accept("tcp", [SSH_PORT], intent.backup_clients))  # rrsync, write-only (backup-server role)
    if "web-portal" in roles:
        other.append(accept("tcp", ["80", "443"]))
    if "postgresql" in roles and intent.app_networks:
        other.append(accept("tcp", ["5432"], intent.app_networks))
    if "proxmox-node" in roles:
        other.append(accept("tcp", ["8006"], admins))
        if "corosync" in intent.cluster_networks:
            other.append(accept("udp", ["5405-5412"], [intent.cluster_networks["corosync"]]))
        if "ceph" in intent.cluster_networks:
            other.append(accept("tcp", ["3300", "6789", "6800-7300"], [intent.cluster_networks["ceph"]]))
    return Rules(tuple(ssh), tuple(other))


def ruleset(r: Rules) -> str:
    """``/etc/nftables.conf``: replaces hatang's table atomically (``nft -f``), leaves others."""
    lines = "".join(f"\t\t{rule}\n" for rule in (*r.ssh, *r.other))
    return f"""#!/usr/sbin/nft -f
{HEADER}table {TABLE}
delete table {TABLE}
table {TABLE} {{
\tchain input {{
\t\ttype filter hook input priority filter; policy drop;
{lines}\t}}
}}
"""
