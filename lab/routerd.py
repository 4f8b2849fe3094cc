"""One lab router's daemons: their configuration files and how to start them.

FRR follows its pathspace convention (``-N <router>``): configuration in
``/etc/frr/<router>/``, vty sockets in ``/var/run/frr/<router>/``, so ``vtysh -N
<router>`` and ``frr-reload.py --pathspace <router>`` work as on any FRR box. sshd and
snmpd get their configuration in the lab state directory. Every daemon runs in the
foreground (the recorded pid is the daemon's) in the router's network namespace and in
a UTS namespace named after the router, but in the host's mount namespace: none of them
reads /sys (interfaces come from netlink and /proc, which follow the network namespace),
and a mount namespace per daemon (``ip netns exec``) cost ~18 ms a start in the merged lab.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
from pathlib import Path

from hatang.lab.processes import Spawn
from hatang.lab.secrets import ADMIN_USER, NET_USER, READONLY_USER
from hatang.lab.topology import RouterWire

FRR_ETC = Path("/etc/frr")
FRR_RUN = Path("/var/run/frr")
FRR_BIN = Path("/usr/lib/frr")
ROUTING_DAEMONS = ("zebra", "staticd", "ospfd")
# Flags that keep an FRR daemon small: no TCP vty (vtysh uses the unix sockets), and a
# bounded fd table (FRR sizes its poll arrays by the fd limit).
FRR_FLAGS = ("-F", "traditional", "-P", "0", "--limit-fds", "256")
# net-snmp: no MIB files parsed, and only the agent modules the monitoring walks.
SNMP_MODULES = ",".join((
    "system_mib", "sysORTable", "interfaces", "ifTable", "ifXTable", "ip", "ipAddressTable", "ipAddrTable",
    "snmp_mib", "vacm_vars", "vacm_conf", "usmUser", "usmConf", "snmpEngine", "snmpMPDStats", "usmStats",
))
MARKER = ".hatang-lab"  # in /etc/frr/<router>/: down removes only directories bearing it
PROCESS_PREFIX = "router:"


def process_name(router: str, daemon: str) -> str:
    return f"{PROCESS_PREFIX}{router}:{daemon}"


def frr_dir(router: str) -> Path:
    return FRR_ETC / router


def frr_socket(router: str, daemon: str) -> Path:
    return FRR_RUN / router / f"{daemon}.vty"


def zebra_api_socket(router: str) -> Path:
    """Where zebra accepts the other daemons (ospfd, staticd) of ``router``."""
    return FRR_RUN / router / "zserv.api"


def write_frr(router: str, day0: str) -> None:
    """/etc/frr/<router>/ (frr:frrvty, group-writable so ``write memory`` works for the
    lab's users) with the day-0 config ``day0`` (the provider's bootstrap); kept as it is
    if it exists (a repair keeps what was saved), and /var/run/frr/<router>/ for the
    sockets."""
    frr_uid, frr_gid = pwd.getpwnam("frr").pw_uid, grp.getgrnam("frrvty").gr_gid
    etc = frr_dir(router)
    etc.mkdir(parents=True, exist_ok=True)
    (etc / MARKER).touch()
    files = {"frr.conf": day0, "vtysh.conf": f"service integrated-vtysh-config\nhostname {router}\n"}
    for name, text in files.items():
        path = etc / name
        if not path.exists():
            path.write_text(text)
        os.chown(path, frr_uid, frr_gid)
        path.chmod(0o660)
    os.chown(etc, frr_uid, frr_gid)
    etc.chmod(0o2775)
    run = FRR_RUN / router
    run.mkdir(parents=True, exist_ok=True)
    os.chown(FRR_RUN, frr_uid, pwd.getpwnam("frr").pw_gid)
    os.chown(run, frr_uid, pwd.getpwnam("frr").pw_gid)


def remove_frr(router: str) -> bool:
    etc = frr_dir(router)
    if not (etc / MARKER).exists():
        return False
    shutil.rmtree(etc, ignore_errors=True)
    shutil.rmtree(FRR_RUN / router, ignore_errors=True)
    return True


def sshd_config(router: RouterWire, host_keys: list[Path], cli: Path) -> str:
    keys = "\n".join(f"HostKey {k}" for k in host_keys)
    allowed = " ".join(f"{user}@{router.mgmt_acl}" for user in (NET_USER, READONLY_USER, ADMIN_USER))
    return f"""# hatang lab: sshd of router {router.name}, on its management address only, from the IIC management network only
ListenAddress {router.mgmt.ip}:22
{keys}
PidFile none
UsePAM no
PermitRootLogin no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowUsers {allowed}
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
PermitTunnel no
LoginGraceTime 30
MaxStartups 30:30:100
Subsystem sftp internal-sftp
Match User {NET_USER}
    ForceCommand {cli} full {router.name}
Match User {READONLY_USER}
    ForceCommand {cli} read-only {router.name}
"""


def snmpd_config(router: RouterWire, secrets: dict[str, dict[str, str]], persistent: Path) -> str:
    v3 = secrets["snmp-v3"]
    return f"""# hatang lab: snmpd of router {router.name}, on its management address only
agentaddress udp:{router.mgmt.ip}:161
sysName {router.name}
sysLocation hatang lab, namespace {router.netns}
sysContact noc@iic.lab
sysServices 6
rocommunity {secrets['snmp-community']['community']} {router.mgmt_acl}
createUser {v3['username']} SHA {v3['auth_key']} AES {v3['priv_key']}
rouser {v3['username']} priv
dontLogTCPWrappersConnects yes
[snmp] persistentDir {persistent}
"""


# The network users' login: vtysh in the router's pathspace (Cisco-like CLI), or for the
# read-only user a user-exec prompt that only runs show, ping and traceroute.
ROUTER_CLI = r"""#!/bin/sh
# hatang lab: the network users' login shell on a router (sshd ForceCommand).
mode="$1"; router="$2"
vtysh() { exec /usr/bin/vtysh -N "$router" "$@"; }
if [ "$mode" = full ]; then
    if [ -n "$SSH_ORIGINAL_COMMAND" ]; then vtysh -c "$SSH_ORIGINAL_COMMAND"; fi
    vtysh
fi
run() {
    case "$1" in
        show|show\ *|sh\ *|ping\ *|traceroute\ *) /usr/bin/vtysh -N "$router" -c "$1" ;;
        terminal\ *) return 0 ;;
        *) echo "% read-only account: '$1' is not allowed (show, ping, traceroute)"; return 1 ;;
    esac
}
if [ -n "$SSH_ORIGINAL_COMMAND" ]; then run "$SSH_ORIGINAL_COMMAND"; exit $?; fi
while printf '%s> ' "$router" && IFS= read -r line; do
    case "$line" in exit|quit|logout) break ;; "") continue ;; esac
    run "$line"
done
"""


def specs(router: RouterWire, base: Path, sshd_conf: Path, snmpd_conf: Path) -> list[Spawn]:
    """The daemons of one router, in start order (zebra first: the others connect to it)."""
    logs = base / "log"
    # Each routing daemon reads the router's saved configuration as it starts (-f: its own
    # part of the integrated frr.conf, the other daemons' lines are not its commands), as
    # a router boots: no ``vtysh -b`` afterwards (a vtysh start per router cost ~18 s in
    # the merged lab), and a daemon restarted alone (a repair) gets its part back too.
    config = str(frr_dir(router.name) / "frr.conf")
    frr = [
        Spawn(process_name(router.name, d), [str(FRR_BIN / d), "-N", router.name, *FRR_FLAGS, "-f", config],
              router.netns, log=logs / f"{d}.log", hostname=router.name, own_sysfs=False)
        for d in ROUTING_DAEMONS
    ]
    sshd = Spawn(process_name(router.name, "sshd"), ["/usr/sbin/sshd", "-D", "-e", "-f", str(sshd_conf)],
                 router.netns, log=logs / "sshd.log", hostname=router.name, own_sysfs=False)
    snmpd = Spawn(process_name(router.name, "snmpd"),
                  ["/usr/sbin/snmpd", "-f", "-Lo", "-C", "-c", str(snmpd_conf), "-m", "", "-I", SNMP_MODULES,
                   "-u", "Debian-snmp", "-g", "Debian-snmp"],
                  router.netns, env={"MIBS": "", "MIBDIRS": "/nonexistent"}, log=logs / "snmpd.log", hostname=router.name,
                  own_sysfs=False)
    return [*frr, sshd, snmpd]


DAEMONS = (*ROUTING_DAEMONS, "sshd", "snmpd")
