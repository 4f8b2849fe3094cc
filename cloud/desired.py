"""Desired state: each inventory VM as the Proxmox guest hatang wants, with its config.

What ``/cluster/resources`` shows (cores, memory, boot disk size, tags, node, status,
HA state) is compared field by field. What it does not show (NICs and VLAN tags, the
cloud-init user, SSH keys and addresses, extra disks, the template) is summed up in a
fingerprint that hatang writes as a tag, ``cfg-<8 hex>``: a changed inventory changes
the fingerprint, and so shows in a plan read in a constant number of calls. A change
made by hand to those hidden fields keeps the tag, so only ``--deep`` (``drift``,
``plan``, ``apply``: one config read per managed guest) sees it and puts it right.
An extra disk carries PVE's ``backup`` flag as :mod:`hatang.cloud.backup_scope` rules:
a disk on a backup store is left out of the guest's backups.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from ipaddress import IPv4Interface
from pathlib import Path
from urllib.parse import quote

from cryptography.hazmat.primitives import serialization

from hatang.cloud.backup_scope import backup_targets, disk_flag
from hatang.credentials import secret
from hatang.errors import HatangError
from hatang.inventory import model as m
from hatang.inventory.inventory import Inventory

MANAGED_TAG = "hatang"
FINGERPRINT_PREFIX = "cfg-"
BRIDGE = "vmbr0"
CT_TEMPLATE_STORAGE = "local"  # where container templates (vztmpl) live on every node
# Written at clone time, before the tags: a guest hatang began but did not finish tagging
# (it adopts such a guest); replaced by the managed description once the guest is tagged,
# so a guest someone untagged on purpose is never taken back.
CREATED_MARKER = "created by hatang"


@dataclass(frozen=True)
class Nic:
    """A NIC on a VLAN; the first carries the VM's inventory address and the VLAN gateway
    (the inventory plans one address per VM; more NICs are plain VLAN attachments)."""

    vlan: int
    address: IPv4Interface | None = None
    gateway: str | None = None

    def ip_options(self) -> str:
        return f"ip={self.address},gw={self.gateway}" if self.address else "ip=manual"


@dataclass(frozen=True)
class DesiredVm:
    name: str
    service: str
    service_class: str
    cluster: str
    kind: str  # qemu | lxc
    template: str
    cores: int
    memory_mib: int
    disks: tuple[tuple[str, int], ...]  # (storage, GiB); the first is the boot disk
    nics: tuple[Nic, ...]
    ha: bool
    anti_affinity: str | None
    ciuser: str
    ssh_public_key: str
    backup_stores: frozenset[str] = frozenset()  # storages backups go to: their disks are left out of backups

    @property
    def boot_disk_gib(self) -> int:
        return self.disks[0][1]

    def hidden_config(self) -> dict[str, str]:
        """The config fields /cluster/resources does not carry (boot disk size aside)."""
        if self.kind == "lxc":
            config = {
                f"net{i}": f"name=eth{i},bridge={BRIDGE},tag={nic.vlan},{nic.ip_options()}"
                for i, nic in enumerate(self.nics)
            }
            config.update({f"mp{i}": f"{storage}:{size},mp=/srv/data{i}{disk_flag('lxc', storage, self.backup_stores)}"
                           for i, (storage, size) in enumerate(self.disks[1:])})
            return config
        config = {f"net{i}": f"virtio,bridge={BRIDGE},tag={nic.vlan}" for i, nic in enumerate(self.nics)}
        config.update({f"ipconfig{i}": nic.ip_options() for i, nic in enumerate(self.nics) if nic.address})
        config.update({f"scsi{i + 1}": f"{storage}:{size}{disk_flag('qemu', storage, self.backup_stores)}"
                       for i, (storage, size) in enumerate(self.disks[1:])})
        config["ciuser"] = self.ciuser
        config["sshkeys"] = quote(self.ssh_public_key, safe="")
        return config

    @property
    def fingerprint(self) -> str:
        material = json.dumps({"template": self.template, **self.hidden_config()}, sort_keys=True)
        return FINGERPRINT_PREFIX + hashlib.sha256(material.encode()).hexdigest()[:8]

    @property
    def tags(self) -> tuple[str, ...]:
        return (MANAGED_TAG, f"svc-{self.service}", self.fingerprint)

    @property
    def description(self) -> str:
        return f"managed by hatang: service {self.service}"

    @property
    def sid(self) -> str:
        return "ct" if self.kind == "lxc" else "vm"


def public_key(env: str) -> str:
    """The server admin's SSH public key (``<key>.pub`` beside it, else derived from it)."""
    path = Path(secret("server-admin", "ssh_private_key_file", env=env)).expanduser()
    pub = path.with_name(path.name + ".pub")
    if pub.exists():
        return pub.read_text().strip()
    try:
        key = serialization.load_ssh_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise HatangError(f"credential 'server-admin' field 'ssh_private_key_file': cannot read {path}: {exc}") from exc
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def desired_vm(inv: Inventory, vm: m.Vm, ciuser: str, key: str) -> DesiredVm:
    first = vm.spec.nics[0].vlan
    nics = (Nic(first, inv.host_address(vm.name, first), str(inv.vlan_prefix(first).network_address + 1)),
            *(Nic(nic.vlan) for nic in vm.spec.nics[1:]))
    return DesiredVm(
        name=vm.name, service=vm.service, service_class=vm.service_class, cluster=vm.cluster,
        kind=vm.spec.kind, template=vm.spec.template, cores=vm.spec.cores, memory_mib=vm.spec.memory_mib,
        disks=tuple((d.storage, d.size_gb) for d in vm.spec.disks), nics=nics, ha=vm.spec.ha,
        anti_affinity=vm.spec.anti_affinity, ciuser=ciuser, ssh_public_key=key,
        backup_stores=backup_targets(inv.backup_policy_by_class.values()),
    )


def desired_state(inv: Inventory) -> dict[str, list[DesiredVm]]:
    """Every cluster of the inventory (even an empty one) and the guests it should run."""
    ciuser = secret("server-admin", "username", env=inv.env)
    key = public_key(inv.env)
    out: dict[str, list[DesiredVm]] = {name: [] for name in inv.cluster_by_name}
    for vm in inv.vms():
        if vm.cluster not in out:
            raise HatangError(f"services.yaml: VM '{vm.name}' of service '{vm.service}' names unknown cluster '{vm.cluster}'")
        out[vm.cluster].append(desired_vm(inv, vm, ciuser, key))
    return out
