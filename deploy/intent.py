"""What a server should be, from the inventory: the data the deploy roles apply.

The roles (pyinfra deploy files) never read the inventory's YAML themselves; they ask
:func:`for_host` for the intent of the host pyinfra is running them on. The inventory
directory and environment travel in pyinfra's host data (``hatang_inventory``,
``hatang_env``), which :mod:`hatang.deploy.runner` passes with ``--data``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from ipaddress import IPv4Interface
from pathlib import Path

from hatang.deploy.baseline.controls import BACKUP_DUMP_ROLES
from hatang.errors import HatangError
from hatang.inventory import load
from hatang.inventory.inventory import Inventory, LinuxHost

#: The VLANs whose servers may connect to the databases.
APP_VLANS = ("app", "dmz-web")
#: The roles whose servers send a nightly backup to the backup server.
BACKUP_CLIENT_ROLES = BACKUP_DUMP_ROLES


@dataclass(frozen=True)
class PveNetwork:
    """A Proxmox node's bridge: one VLAN-aware bridge, one VLAN interface per address."""

    bridge: str
    uplink: str
    vids: tuple[int, ...]
    addresses: dict[int, IPv4Interface]
    gateway_vlan: int


@dataclass(frozen=True)
class HostIntent:
    host: LinuxHost
    environment: str
    ntp_servers: tuple[str, ...]
    syslog_server: str
    backup_server: str | None
    service_title: str | None = None
    app_networks: tuple[str, ...] = ()
    cluster_peers: dict[str, str] = field(default_factory=dict)
    pve: PveNetwork | None = None
    #: Where administrators (and hatang) connect from: the IIC management network.
    admin_networks: tuple[str, ...] = ()
    #: On the backup server: the addresses of the servers that send it backups.
    backup_clients: tuple[str, ...] = ()
    #: On a Proxmox node: the prefixes of its cluster's corosync and Ceph VLANs.
    cluster_networks: dict[str, str] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return str(next(self.host.address.network.hosts()))


@lru_cache(maxsize=4)
def inventory(directory: str, env: str) -> Inventory:
    return load(Path(directory) if directory else None, env)


def _address_of(inv: Inventory, name: str, what: str) -> str:
    for host in inv.linux_hosts():
        if host.name == name:
            return str(host.address.ip)
    raise HatangError(f"datacenter.yaml: {what} '{name}' is not a server of the inventory")


def _pve_network(inv: Inventory, host: LinuxHost) -> PveNetwork:
    cluster = inv.cluster_by_name[host.cluster or ""]
    mgmt = inv.pve_mgmt_vlan
    addressed = [vid for vid in cluster.vlans if inv.vlan_by_id[vid].name in ("pve-mgmt", "ceph", "corosync")]
    return PveNetwork(
        bridge="vmbr0",
        uplink="bond0",
        vids=tuple(cluster.vlans),
        addresses={vid: inv.host_address(host.name, vid) for vid in addressed},
        gateway_vlan=mgmt,
    )


def for_host(name: str, directory: str, env: str) -> HostIntent:
    """The intent for server ``name`` of the inventory in ``directory`` (``env`` plan)."""
    inv = inventory(directory, env)
    hosts = {h.name: h for h in inv.linux_hosts()}
    if name not in hosts:
        raise HatangError(f"'{name}' is not a server of the inventory {inv.directory}")
    host = hosts[name]
    dc = inv.datacenter
    if dc is None:
        raise HatangError("datacenter.yaml: no datacenter section (NTP and syslog servers)")
    backup = next((h.name for h in hosts.values() if "backup-server" in h.roles), None)
    peers: dict[str, str] = {}
    pve = None
    cluster_networks: dict[str, str] = {}
    if host.kind == "pve-node":
        corosync = next((v.id for v in inv.vlan_by_id.values() if v.name == "corosync"), inv.pve_mgmt_vlan)
        peers = {n.name: str(inv.host_address(n.name, corosync).ip) for n in inv.cluster_by_name[host.cluster or ""].nodes}
        pve = _pve_network(inv, host)
        cluster_networks = {inv.vlan_by_id[v].name: str(inv.vlan_prefix(v)) for v in pve.addresses if v != pve.gateway_vlan}
    titles = {svc.name: svc.title for _, svc in inv.services}
    app_vlans = [v.id for v in inv.vlan_by_id.values() if v.name in APP_VLANS]
    return HostIntent(
        host=host,
        service_title=titles.get(host.service or ""),
        app_networks=tuple(str(inv.vlan_prefix(v)) for v in app_vlans),
        environment=env,
        ntp_servers=tuple(_address_of(inv, n, "NTP server") for n in dc.ntp_servers),
        syslog_server=_address_of(inv, dc.syslog_server, "syslog server"),
        backup_server=_address_of(inv, backup, "backup server") if backup else None,
        cluster_peers=peers,
        pve=pve,
        admin_networks=(str(inv.mgmt(next(iter(inv.device_by_name))).network),),
        backup_clients=tuple(str(h.address.ip) for h in hosts.values() if any(r in h.roles for r in BACKUP_CLIENT_ROLES))
        if "backup-server" in host.roles else (),
        cluster_networks=cluster_networks,
    )
