"""pyinfra deploy: ``proxmox-node``, the hypervisor baseline of a Proxmox VE node.

The node's network as ifupdown2 configuration (one VLAN-aware bridge over the uplink
bond, the cluster's VLANs, an address on the management, Ceph and corosync VLANs), the
no-subscription repository instead of the enterprise one, and every cluster member's
corosync address in ``/etc/hosts`` (corosync must resolve its peers without DNS).

The network file is written, never applied: changing a hypervisor's live network
from a deploy could cut it (and its VMs) off. Apply it in a maintenance window with
``ifreload -a`` after reading the run's diff.
"""

from pyinfra.operations import files

from hatang.deploy import ops
from hatang.deploy.baseline.content import HEADER
from hatang.errors import HatangError

PVE_REPOSITORY = "deb http://download.proxmox.com/debian/pve bookworm pve-no-subscription"
CEPH_REPOSITORY = "deb http://download.proxmox.com/debian/ceph-quincy bookworm no-subscription"

intent = ops.intent()
if intent.pve is None:
    raise HatangError(f"{intent.host.name} is not a Proxmox node of the inventory")
net = intent.pve


def interfaces() -> str:
    lines = [HEADER.rstrip(), f"auto {net.bridge}", f"iface {net.bridge} inet manual",
             f"    bridge-ports {net.uplink}", "    bridge-stp off", "    bridge-fd 0",
             "    bridge-vlan-aware yes", f"    bridge-vids {' '.join(str(v) for v in net.vids)}", ""]
    for vid, address in sorted(net.addresses.items()):
        lines += [f"auto {net.bridge}.{vid}", f"iface {net.bridge}.{vid} inet static", f"    address {address}"]
        if vid == net.gateway_vlan:
            lines.append(f"    gateway {next(address.network.hosts())}")
        lines.append("")
    return "\n".join(lines)


ops.text("/etc/network/interfaces.d/hatang-pve", interfaces())
ops.text("/etc/apt/sources.list.d/pve-no-subscription.list", HEADER + PVE_REPOSITORY + "\n")
ops.text("/etc/apt/sources.list.d/ceph.list", HEADER + CEPH_REPOSITORY + "\n")
files.file(name="No enterprise repository (no subscription)", path="/etc/apt/sources.list.d/pve-enterprise.list", present=False)
files.block(
    name="Corosync peers in /etc/hosts", path="/etc/hosts", marker="# {mark} hatang corosync peers",
    content="\n".join(f"{address} {name}.corosync {name}-corosync" for name, address in sorted(intent.cluster_peers.items())),
)
