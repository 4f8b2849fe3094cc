"""Lab component ``hosts``: the data center's Linux servers, as real SSH targets.

Each lab host is a network namespace on the ``hatang-dc`` bridge (the host side holds
every used VLAN's gateway, the .1 of its prefix) at the address the inventory gives the
server, with its own mount, PID and UTS namespaces. Its root is an overlay: the shared
Debian rootfs (:mod:`hatang.lab.host_rootfs`) read-only below, an upper directory of its
own in the lab state directory. The overlay is mounted *inside* the host's private
mount namespace, so it disappears with the host's last process: a crash leaves no mount
on the machine, and ``down`` only has to stop the recorded PID 1 and remove files.

PID 1 is :mod:`hatang.lab.host_init` (no systemd: services run from their sysvinit
scripts). Kernel-wide knobs stay out of reach: ``/proc/sys`` is read-only and the
capabilities to set the clock, load modules or reboot are dropped, so a deploy's
sysctl or chrony step cannot touch the machine running the lab.

The IIC's time servers, when the lab does not run them as hosts, are one more lab host
started the same way but never deployed to (:mod:`hatang.lab.timeserver`).

Root logs in with a key generated per lab, recorded in the lab secrets file as
``server-admin``; host keys are generated per host into a lab ``known_hosts`` file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from ipaddress import IPv4Interface
from pathlib import Path

from hatang.console import info
from hatang.errors import HatangError
from hatang.inventory.inventory import LinuxHost
from hatang.lab import host_rootfs, timeserver
from hatang.lab import secrets as lab_secrets
from hatang.lab.context import LabContext
from hatang.lab.processes import is_alive
from hatang.results import map_per_host

name = "hosts"
requires = {
    "debootstrap": "debootstrap",
    "dpkg-scanpackages": "dpkg-dev",
    "unshare": "util-linux",
    "setpriv": "util-linux",
    "ssh-keygen": "openssh-client",
}

BRIDGE = "hatang-dc"
NETNS_PREFIX = "hatang-host-"
PROCESS_PREFIX = "host:"
ADMIN_USER = "root"
#: The credentials this component adds to the lab secrets file.
SECRET_REFS = ("server-admin", "backup-transfer")
#: Hosts per lab size: one Proxmox node and one VM of each service role the deploys carry.
HOSTS_BY_SIZE = {
    "small": ("pve-core-01", "portal-web-01", "db-pg-01", "backup"),
    "district": ("pve-core-01", "portal-web-01", "db-pg-01", "backup"),
    "province": ("pve-core-01", "pve-dmz-01", "portal-web-01", "qlvb-app-01", "db-pg-01", "backup"),
}
HOSTS_BY_SIZE["merged"] = HOSTS_BY_SIZE["province"]  # the merged province's data center is the IIC's
#: Capabilities a lab host must not have: they reach the kernel of the machine itself.
DROPPED_CAPS = ("sys_time", "sys_module", "sys_boot", "sys_rawio", "wake_alarm", "mac_admin", "audit_control")


def bounding_set() -> str:
    """``setpriv --bounding-set``'s argument that drops :data:`DROPPED_CAPS`."""
    return ",".join(f"-{cap}" for cap in DROPPED_CAPS)

SSH_WAIT_S = 20.0

# Runs as PID 1 of the new PID namespace, in the new mount namespace, before chroot.
BOOT_SCRIPT = """
root="$1"; lower="$2"; upper="$3"; work="$4"; host="$5"; caps="$6"
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$root"
mount -t proc proc "$root/proc"
mount --bind "$root/proc/sys" "$root/proc/sys"
mount -o remount,bind,ro "$root/proc/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mkdir -p "$root/run/sshd" "$root/run/lock"
hostname "$host"
exec setpriv --bounding-set "$caps" chroot "$root" /usr/local/sbin/hatang-lab-init
"""


def selected(ctx: LabContext) -> list[LinuxHost]:
    """The inventory's servers this lab runs: ``$HATANG_LAB_HOSTS`` (comma-separated
    names) if set, else the lab size's choice."""
    wanted = os.environ.get("HATANG_LAB_HOSTS")
    names = [n.strip() for n in wanted.split(",") if n.strip()] if wanted else list(HOSTS_BY_SIZE.get(ctx.size, HOSTS_BY_SIZE["small"]))
    by_name = {h.name: h for h in ctx.inventory.linux_hosts()}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise HatangError(f"HATANG_LAB_HOSTS names servers the inventory does not have: {', '.join(unknown)}")
    return [by_name[n] for n in names]


def netns_name(host: str) -> str:
    return NETNS_PREFIX + host


def _veth(host: str) -> str:
    return "hh" + hashlib.sha1(host.encode()).hexdigest()[:10]


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise HatangError(f"lab hosts: 'ip {' '.join(args)}' failed: {proc.stderr.strip()}")
    return proc


def _gateways(hosts: list[LinuxHost]) -> list[IPv4Interface]:
    """The host side of every prefix the lab hosts sit in (the .1, as in the inventory)."""
    nets = sorted({h.address.network for h in hosts})
    return [IPv4Interface((next(net.hosts()), net.prefixlen)) for net in nets]


def _bridge_up(hosts: list[LinuxHost], mgmt_gateway: str) -> None:
    if _ip("link", "show", BRIDGE, check=False).returncode != 0:
        _ip("link", "add", BRIDGE, "type", "bridge")
    for gw in _gateways(hosts):
        _ip("addr", "replace", str(gw), "dev", BRIDGE)
    _ip("link", "set", BRIDGE, "up")
    # The machine reaches the hosts from the management network, where hatang sits in
    # production too: their firewalls accept SSH and SNMP from there only. Without the
    # routers' component, the bridge holds the management gateway itself.
    if not _ip("-4", "addr", "show", "to", f"{mgmt_gateway}/32", check=False).stdout.strip():
        _ip("addr", "replace", f"{mgmt_gateway}/32", "dev", BRIDGE)
    for gw in _gateways(hosts):
        _ip("route", "replace", str(gw.network), "dev", BRIDGE, "proto", "kernel", "scope", "link", "src", mgmt_gateway)


def _netns_up(host: LinuxHost, prefixes: list[str]) -> None:
    ns, veth = netns_name(host.name), _veth(host.name)
    if _ip("netns", "add", ns, check=False).returncode != 0:
        _ip("netns", "delete", ns, check=False)  # a leftover of a crash: start clean
        _ip("netns", "add", ns)
    _ip("link", "delete", veth, check=False)  # a leftover of a crash (its pair goes with it)
    _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
    _ip("link", "set", veth, "master", BRIDGE, "up")
    inside = ("-n", ns)
    _ip(*inside, "link", "set", "lo", "up")
    _ip(*inside, "addr", "add", str(host.address), "dev", "eth0")
    _ip(*inside, "link", "set", "eth0", "up")
    # The data center is one L2 segment in the lab: other VLANs are on-link, so the
    # hosts reach each other without the machine forwarding packets.
    for prefix in prefixes:
        if prefix != str(host.address.network):
            _ip(*inside, "route", "add", prefix, "dev", "eth0")
    _ip(*inside, "route", "add", "default", "via", str(next(host.address.network.hosts())))


def _keygen(path: Path, comment: str) -> None:
    if not path.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)


def lab_keys(ctx: LabContext) -> Path:
    """The lab's keys for the servers (generated once per lab) recorded in the secrets
    file: ``server-admin`` (root's login) and ``backup-transfer``; returns the first."""
    keys = ctx.path("hosts", "keys")
    for ref in SECRET_REFS:
        _keygen(keys / ref, f"hatang-lab-{ref}")
    values = ctx.secrets
    wanted = {
        "server-admin": {"username": ADMIN_USER, "ssh_private_key_file": str(keys / "server-admin")},
        "backup-transfer": {"ssh_private_key_file": str(keys / "backup-transfer")},
    }
    if any(values.get(ref) != value for ref, value in wanted.items()):
        lab_secrets.write({**values, **wanted})
    return keys / "server-admin"


def known_hosts_file(state_dir: Path) -> Path:
    """The lab hosts' public host keys, for strict host key checking."""
    return state_dir / "hosts" / "known_hosts"


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def _seed_upper(upper: Path, host: LinuxHost, pubkey: str, all_hosts: list[LinuxHost]) -> str:
    """Write what makes this host itself into its upper layer; returns its host key line."""
    _write(upper / "etc/hostname", host.name + "\n")
    hosts_lines = ["127.0.0.1 localhost", *(f"{h.address.ip} {h.name}" for h in all_hosts)]
    _write(upper / "etc/hosts", "\n".join(hosts_lines) + "\n")
    _write(upper / "root/.ssh/authorized_keys", pubkey, 0o600)
    (upper / "root/.ssh").chmod(0o700)
    _write(upper / "etc/ssh/sshd_config.d/00-hatang-lab.conf",
           f"# hatang lab host: listen on the inventory address only\nListenAddress {host.address.ip}\nHostKey /etc/ssh/ssh_host_ed25519_key\n")
    hostkey = upper / "etc/ssh/ssh_host_ed25519_key"
    _keygen(hostkey, f"root@{host.name}")
    _write(upper / "usr/local/sbin/hatang-lab-init", (Path(__file__).parent / "host_init.py").read_text(), 0o755)
    # invoke-rc.d asks /sbin/runlevel; our init is at runlevel 2, as sysvinit would be.
    _write(upper / "usr/sbin/runlevel", "#!/bin/sh\necho N 2\n", 0o755)
    key_type, key_data = hostkey.with_suffix(".pub").read_text().split()[:2]
    return f"{host.address.ip} {key_type} {key_data}"


def _wait_ssh(host: LinuxHost, deadline: float) -> None:
    while True:
        try:
            with socket.create_connection((str(host.address.ip), 22), timeout=1) as sock:
                if sock.recv(4).startswith(b"SSH"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise HatangError(f"lab host {host.name}: sshd did not answer on {host.address.ip}:22 within {SSH_WAIT_S:.0f}s")
        time.sleep(0.1)


def _boot(ctx: LabContext, host: LinuxHost, lower: Path, pubkey: str, every: list[LinuxHost], prefixes: list[str],
          extra_files: dict[str, tuple[str, int]] | None = None) -> str:
    """Start ``host`` (fresh upper layer, namespace, PID 1); returns its host key line."""
    base = ctx.path("hosts", host.name)
    for part in ("root", "upper", "work"):
        shutil.rmtree(base / part, ignore_errors=True)
        (base / part).mkdir()
    line = _seed_upper(base / "upper", host, pubkey, every)
    _write(base / "lower", f"{lower}\n")  # its layers, for the Proxmox simulator's copies (lab/pvesim/guest_agent.py)
    for rel, (text, mode) in (extra_files or {}).items():
        _write(base / "upper" / rel, text, mode)
    _netns_up(host, prefixes)
    caps = bounding_set()
    argv = ["unshare", "--mount", "--pid", "--uts", "--ipc", "--fork", "--kill-child", "--propagation", "private",
            "/bin/sh", "-ec", BOOT_SCRIPT, "boot", str(base / "root"), str(lower), str(base / "upper"), str(base / "work"), host.name, caps]
    ctx.spawn(PROCESS_PREFIX + host.name, argv, netns=netns_name(host.name), log=base / "console.log")
    return line


def _time_server_up(ctx: LabContext, lower: Path, pubkey: str, servers: list[LinuxHost], every: list[LinuxHost],
                    prefixes: list[str]) -> None:
    """One lab host holding every address of ``servers`` (:mod:`hatang.lab.timeserver`);
    no ``known_hosts`` of its own, so no deploy chooses it."""
    first = servers[0]
    if ctx.running(PROCESS_PREFIX + first.name):
        return
    _boot(ctx, first, lower, pubkey, every, prefixes, timeserver.files(ctx.inventory))
    for other in servers[1:]:
        _ip("-n", netns_name(first.name), "addr", "add", str(other.address), "dev", "eth0")


def up(ctx: LabContext) -> None:
    hosts = selected(ctx)
    time_servers = timeserver.served(ctx.inventory, hosts)
    every = [*hosts, *time_servers]
    lower = host_rootfs.build(log=info)
    key = lab_keys(ctx)
    pubkey = key.with_suffix(".pub").read_text()
    _bridge_up(every, str(ctx.inventory.mgmt_gateway()))
    prefixes = sorted({str(h.address.network) for h in every})
    known: list[str] = []
    for host in hosts:
        base = ctx.path("hosts", host.name)
        if ctx.running(PROCESS_PREFIX + host.name):
            known.append((base / "known_hosts").read_text().strip())
            continue
        line = _boot(ctx, host, lower, pubkey, every, prefixes)
        _write(base / "known_hosts", line + "\n")
        known.append(line)
    if time_servers:
        _time_server_up(ctx, lower, pubkey, time_servers, every, prefixes)
    _write(known_hosts_file(ctx.state_dir), "\n".join(known) + "\n")
    deadline = time.monotonic() + SSH_WAIT_S
    map_per_host(hosts, lambda h: _wait_ssh(h, deadline), name_of=lambda h: h.name, max_workers=8, what="lab hosts")
    timeserver.wait_serving(time_servers)


def _leftover_netns() -> list[str]:
    listing = _ip("netns", "list", check=False).stdout.split("\n")
    return [line.split()[0] for line in listing if line.startswith(NETNS_PREFIX)]


def _unmount_leftovers(hosts_dir: Path) -> None:
    """Overlays live in the hosts' own mount namespaces; this only catches strays."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for target in sorted((m for m in mounts if m.startswith(str(hosts_dir) + "/")), reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True)


def _stop_inits(ctx: LabContext) -> None:
    """TERM each host's PID 1 (the child of its recorded ``unshare``, which ignores
    TERM while it waits): the host's processes die with it, then ``unshare`` exits."""
    for proc in ctx.registry.select(PROCESS_PREFIX):
        if not is_alive(proc):
            continue
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        for child in children.read_text().split() if children.exists() else []:
            try:
                os.kill(int(child), signal.SIGTERM)
            except ProcessLookupError:
                pass


def down(ctx: LabContext) -> None:
    """Stop every host by its recorded pid, then remove namespaces, bridge and files,
    also when ``up`` was interrupted (everything is found by name, not by record)."""
    _stop_inits(ctx)
    ctx.stop_all(PROCESS_PREFIX)
    for ns in _leftover_netns():
        # the veth first: deleting it is immediate, while a deleted namespace frees its
        # devices later, and an "up" right after would find the name still taken
        _ip("link", "delete", _veth(ns.removeprefix(NETNS_PREFIX)), check=False)
        _ip("netns", "delete", ns, check=False)
    _ip("link", "delete", BRIDGE, check=False)
    hosts_dir = ctx.state_dir / "hosts"
    _unmount_leftovers(hosts_dir)
    shutil.rmtree(hosts_dir, ignore_errors=True)
    values = lab_secrets.read()
    if values and any(ref in values for ref in SECRET_REFS):
        lab_secrets.write({k: v for k, v in values.items() if k not in SECRET_REFS})


def _ssh_answers(host: LinuxHost) -> bool:
    try:
        with socket.create_connection((str(host.address.ip), 22), timeout=0.5) as sock:
            return sock.recv(4).startswith(b"SSH")
    except OSError:
        return False


def status(ctx: LabContext) -> list[dict]:
    hosts = selected(ctx)
    items = [
        {
            "name": host.name,
            "address": str(host.address.ip),
            "roles": ",".join(host.roles),
            "running": ctx.running(PROCESS_PREFIX + host.name),
            "ssh": _ssh_answers(host),
        }
        for host in hosts
    ]
    served = timeserver.served(ctx.inventory, hosts)
    if served:
        items.append({
            "name": served[0].name,
            "address": ", ".join(str(h.address.ip) for h in served),
            "roles": "time server (lab): " + ", ".join(h.name for h in served),
            "running": ctx.running(PROCESS_PREFIX + served[0].name),
            "ssh": _ssh_answers(served[0]),
        })
    return items


def running_names(state_dir: Path) -> list[str]:
    """The lab hosts that were brought up (their state directories), for other rooms."""
    hosts_dir = state_dir / "hosts"
    return sorted(p.name for p in hosts_dir.iterdir() if (p / "known_hosts").exists()) if hosts_dir.exists() else []
