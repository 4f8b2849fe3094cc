"""The IIC's time servers in the lab: what the lab hosts' chronyd synchronises to.

``datacenter.yaml`` names the data center's NTP servers (``ntp_servers``: ``ntp-01``,
``ntp-02``); the ``base`` role points every server's chronyd at their addresses and
control LOG-04 requires it to be *synchronised* to one of them. The lab serves those
addresses (the ones it does not run as deploy targets) from one more lab host, started
by :mod:`hatang.lab.hosts` like the others (its own network namespace on the
``hatang-dc`` bridge, overlay root, no CAP_SYS_TIME) but never deployed to: it holds
every served address, installs chrony from the rootfs's local repository at boot and
runs it as a server.

Its chronyd serves the machine's clock (``local stratum``), which every lab host shares,
with ``-x``: it never sets a clock. It answers the data center's VLANs and the
management network (where the machine sits), as the IIC's servers would.
"""

from __future__ import annotations

import socket
import time
from ipaddress import IPv4Address

from hatang.errors import HatangError
from hatang.inventory.inventory import Inventory, LinuxHost

NTP_PORT = 123
LOCAL_STRATUM = 10
#: How long ``up`` waits for the time server to answer (chrony is installed at its boot).
SERVE_WAIT_S = 90.0
LOG = "/var/log/hatang-time-server.log"
RC_SCRIPT = f"""#!/bin/sh
# hatang lab time server: chrony from the local repository, started at runlevel 2
[ "$1" = start ] || exit 0
DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1 apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold chrony >{LOG} 2>&1
pidof chronyd >/dev/null || /etc/init.d/chrony start >>{LOG} 2>&1
"""
#: LI 0, version 4, mode 3 (client): the smallest NTP request.
_REQUEST = bytes([0x23]) + bytes(47)


def served(inv: Inventory, running: list[LinuxHost]) -> list[LinuxHost]:
    """The inventory's NTP servers the lab must serve: those it does not run as hosts."""
    names = inv.datacenter.ntp_servers if inv.datacenter else ()
    by_name = {h.name: h for h in inv.linux_hosts()}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise HatangError(f"datacenter.yaml: NTP server '{unknown[0]}' is not a server of the inventory")
    ran = {h.name for h in running}
    return [by_name[n] for n in names if n not in ran]


def allowed(inv: Inventory) -> list[str]:
    """Who may ask: the data center's VLANs and the management network."""
    prefixes = {inv.vlan_prefix(v) for v in inv.vlan_by_id} | {inv.mgmt_network()}
    return [str(p) for p in sorted(prefixes)]


def chrony_conf(clients: list[str]) -> str:
    return "\n".join([
        "# hatang lab: the IIC's time servers, serving the machine's clock (which the lab hosts share)",
        f"local stratum {LOCAL_STRATUM}",
        *(f"allow {p}" for p in clients),
        "driftfile /var/lib/chrony/chrony.drift",
        "",
    ])


def files(inv: Inventory) -> dict[str, tuple[str, int]]:
    """What the time server's upper layer holds besides a lab host's own: path → (text, mode)."""
    return {
        "etc/chrony/chrony.conf": (chrony_conf(allowed(inv)), 0o644),
        "etc/default/chrony": ('DAEMON_OPTS="-x"\n', 0o644),  # no CAP_SYS_TIME: never set the clock
        "etc/rc2.d/S99hatang-time-server": (RC_SCRIPT, 0o755),
    }


def answers(address: IPv4Address, timeout_s: float = 1.0, port: int = NTP_PORT) -> bool:
    """Does ``address`` answer an NTP request as a synchronised server (LI not 3, stratum 1-15)?"""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.sendto(_REQUEST, (str(address), port))
            reply = sock.recv(512)
        except OSError:
            return False
    return len(reply) >= 48 and reply[0] & 0x7 == 4 and reply[0] >> 6 != 3 and 0 < reply[1] < 16


def wait_serving(servers: list[LinuxHost], timeout_s: float = SERVE_WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    for server in servers:
        while not answers(server.address.ip):
            if time.monotonic() > deadline:
                raise HatangError(f"lab time server: {server.name} ({server.address.ip}) did not answer NTP within {timeout_s:.0f}s",
                                  details=[f"its log: {LOG} in the time server's root"])
            time.sleep(0.5)
