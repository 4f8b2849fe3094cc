"""Lab component ``routers``: the province's WAN routers, one network namespace each.

``up`` wires the namespaces (:mod:`hatang.lab.netbuild`), creates the lab's users,
writes each router's configuration and starts its daemons (:mod:`hatang.lab.routerd`),
then waits until every router answers: FRR's vty sockets exist, sshd accepts on the
management address, snmpd has bound its port. ``down`` stops the recorded daemons,
kills whatever else still runs inside a lab namespace (SSH sessions), and removes the
namespaces, the users and the files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from hatang import probe
from hatang.console import info, progress
from hatang.errors import HatangError
from hatang.lab import faults, hostlimits, netbuild, routerd, users
from hatang.lab.context import LabContext
from hatang.lab.processes import Process, is_alive, proc_starttime, terminate
from hatang.lab.topology import MGMT_BRIDGE, Topology, build
from hatang.network.render import Renderer
from hatang.results import map_per_host

name = "routers"
requires: dict[str, str] = {}  # the lab's own programs are in hatang.lab.preflight.REQUIRES

PHASES_FILE = "routers-phases.json"  # the last up's seconds per phase
READY_TIMEOUT_S = 60.0
PROBE_WORKERS = 32


def topology(ctx: LabContext) -> Topology:
    return build(ctx.inventory, ctx.size)


# --- up ------------------------------------------------------------------------------


class Phases:
    """Seconds per phase of ``up``, printed at its end (``bench.lab`` reports them)."""

    PREFIX = "routers: phases: "

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._since = time.monotonic()

    def done(self, phase: str) -> None:
        now = time.monotonic()
        self.seconds[phase] = round(now - self._since, 2)
        self._since = now

    def line(self) -> str:
        return self.PREFIX + ", ".join(f"{phase} {s} s" for phase, s in self.seconds.items())


def up(ctx: LabContext) -> None:
    phases = Phases()
    topo = topology(ctx)
    state = faults.read(ctx)
    hostlimits.raise_for(len(topo.routers), ctx.state_dir)
    phases.done("topology")
    with progress("routers: network", 1) as tick:
        netbuild.build(topo, wires_down=faults.wires_held_down(topo, state), mgmt_down=set(state.killed))
        tick()
    phases.done("network")
    secrets = ctx.secrets
    users.ensure(secrets, ctx.path("home"))
    names = [router.name for router in topo.routers]
    host_keys = {name: _host_keys(ctx.path("routers", name, "ssh")) for name in names}
    phases.done("users and host keys")
    cli = ctx.path("bin") / "router-cli"
    cli.write_text(routerd.ROUTER_CLI)
    cli.chmod(0o755)
    specs = []
    renderer = Renderer(ctx.inventory)
    for router in topo.routers:
        base = ctx.path("routers", router.name)
        (base / "log").mkdir(exist_ok=True)
        routerd.write_frr(router.name, day0_config(renderer, router.name))
        sshd_conf, snmpd_conf = base / "sshd_config", base / "snmpd.conf"
        persistent = base / "snmp"
        persistent.mkdir(exist_ok=True)
        shutil.chown(persistent, "Debian-snmp", "Debian-snmp")
        sshd_conf.write_text(routerd.sshd_config(router, host_keys[router.name], cli))
        snmpd_conf.write_text(routerd.snmpd_config(router, secrets, persistent))
        snmpd_conf.chmod(0o644)
        specs.extend(routerd.specs(router, base, sshd_conf, snmpd_conf))
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    phases.done("configs")
    before = {p.name: p for p in ctx.registry.select(routerd.PROCESS_PREFIX) if is_alive(p)}
    for router in topo.routers:  # a socket left by a daemon that died would read as ready
        for daemon in routerd.ROUTING_DAEMONS:
            if routerd.process_name(router.name, daemon) not in before:
                routerd.frr_socket(router.name, daemon).unlink(missing_ok=True)
        if routerd.process_name(router.name, "zebra") not in before:
            routerd.zebra_api_socket(router.name).unlink(missing_ok=True)
    # zebra first, sshd and snmpd (which need no zebra) while the zebras start, and
    # staticd and ospfd once every zebra accepts them: a daemon that finds no zebra
    # retries only ~8 s later, and until then OSPF sends no hello.
    def of(*daemons: str) -> list:
        return [spec for spec in specs if spec.name.rsplit(":", 1)[1] in daemons]

    with progress("routers: daemons", len(specs)) as tick:
        _spawn(ctx, of("zebra"), tick)
        _spawn(ctx, of("sshd", "snmpd"), tick)
        phases.done("zebra, sshd, snmpd")
        _wait_for_zebra(ctx, topo)
        phases.done("zebra ready")
        _spawn(ctx, of(*routerd.ROUTING_DAEMONS[1:]), tick)
    phases.done("staticd, ospfd")
    _wait_ready(ctx, topo)
    phases.done("ready")
    info(phases.line())
    (ctx.state_dir / PHASES_FILE).write_text(json.dumps(phases.seconds))  # for whoever reads the lab's state


def day0_config(renderer: Renderer, router: str) -> str:
    """FRR's configuration as the router arrives: the provider's bootstrap (loopback,
    uplink and OSPF on them: reachable in band once its uplink peer is configured)."""
    return "frr version 8.4.4\n" + renderer.render(router, day0=True).text


def _spawn(ctx: LabContext, specs: list, tick) -> None:
    """Start ``specs`` (250 at a time: one registry write each, ~20 ms for the merged lab's)."""
    for chunk in [specs[i : i + 250] for i in range(0, len(specs), 250)]:
        ctx.spawn_many(chunk)
        tick(len(chunk))


def _wait_for_zebra(ctx: LabContext, topo: Topology) -> None:
    """Until every router's zebra listens for its daemons (or has died: _wait_ready says so)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = [r.name for r in topo.routers]
    while pending and time.monotonic() < deadline:
        procs = ctx.registry.read()
        pending = [name for name in pending if not routerd.zebra_api_socket(name).exists()
                   and (p := procs.get(routerd.process_name(name, "zebra"))) is not None and is_alive(p)]
        if pending:
            time.sleep(0.05)


def _host_keys(directory: Path) -> list[Path]:
    """A router's SSH host keys, generated on its first start and kept until ``lab down``:
    each router has its own, as real ones do, so a connection that reaches the wrong
    router fails its host-key check. Generated here, as ssh-keygen writes them (OpenSSH
    format, 0600, the public half beside): two ssh-keygen runs per router cost seconds
    in the merged lab."""
    keys = []
    for kind, generate in (("ed25519", ed25519.Ed25519PrivateKey.generate), ("ecdsa", lambda: ec.generate_private_key(ec.SECP256R1()))):
        key = directory / f"ssh_host_{kind}_key"
        if not key.exists():
            private = generate()
            public = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
            key.with_name(key.name + ".pub").write_bytes(public + b" hatang-lab\n")
            tmp = key.with_name(key.name + ".tmp")
            tmp.unlink(missing_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))
            os.replace(tmp, key)
        keys.append(key)
    return keys


def _ready(router, procs: dict[str, Process]) -> list[str]:
    """What of one router is not ready yet (empty when all is)."""
    waiting = [d for d in routerd.ROUTING_DAEMONS if not routerd.frr_socket(router.name, d).exists()]
    for daemon, proto, port in (("snmpd", "udp", 161), ("sshd", "tcp", 22)):
        process = procs.get(routerd.process_name(router.name, daemon))
        if process is None or not _bound(process.pid, proto, port):
            waiting.append(daemon)
    return waiting


def _wait_ready(ctx: LabContext, topo: Topology) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = list(topo.routers)
    with progress("routers: ready", len(pending)) as tick:
        while True:
            procs = ctx.registry.read()
            dead = [n for n, p in procs.items() if n.startswith(routerd.PROCESS_PREFIX) and not is_alive(p)]
            if dead:
                raise HatangError(
                    f"{len(dead)} lab daemon(s) died while starting: {', '.join(sorted(dead)[:6])}",
                    details=[f"logs: {ctx.state_dir}/routers/<router>/log/"],
                )
            waits = list(map_per_host(pending, lambda r: _ready(r, procs), name_of=lambda r: r.name, max_workers=PROBE_WORKERS, what="routers: ready").values())
            still = [(r, w) for r, w in zip(pending, waits) if w]
            tick(len(pending) - len(still))
            pending = [r for r, _ in still]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise HatangError(
                    f"{len(pending)} router(s) not ready after {READY_TIMEOUT_S:.0f}s",
                    details=[f"{r.name}: waiting for {', '.join(w)}" for r, w in still[:10]],
                )
            time.sleep(0.2)


def _bound(pid: int, proto: str, port: int) -> bool:
    """Whether a ``proto`` (udp, tcp) socket is bound (TCP: listening) on ``port`` in the
    network namespace of ``pid``. Read from /proc, not by connecting: an in-band router
    is not reachable before the routers on its way are configured."""
    try:
        lines = Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]
    except OSError:
        return False
    listening = "0A" if proto == "tcp" else None
    return any((f := line.split())[1].endswith(f":{port:04X}") and (listening is None or f[3] == listening) for line in lines)


def tcp_open(host: str, port: int, timeout: float) -> bool:
    """Whether ``host:port`` accepts a connection over the management bridge. Bound to the
    bridge: without it a missing lab could look alive through the default route."""
    return probe.tcp_open(host, port, timeout, device=MGMT_BRIDGE)


def ping(host: str, timeout_s: int = 1) -> bool:
    argv = ["ping", "-c1", "-n", "-q", "-I", MGMT_BRIDGE, f"-W{timeout_s}", host]
    return subprocess.run(argv, capture_output=True).returncode == 0


# --- down ----------------------------------------------------------------------------


def down(ctx: LabContext) -> None:
    """Every step is tried even when one fails (a half-built lab is the usual case)."""
    steps = [
        ("daemons", lambda: ctx.stop_all(routerd.PROCESS_PREFIX)),
        ("sessions", _kill_leftovers),
        ("namespaces", netbuild.teardown),
        ("users", users.remove),
        ("frr directories", lambda: [routerd.remove_frr(d.name) for d in ctx.inventory.routers()]),
        ("faults", lambda: faults.clear(ctx)),
        ("host limits", lambda: hostlimits.restore(ctx.state_dir)),
    ]
    failed = []
    for label, step in steps:
        try:
            step()
        except (HatangError, OSError) as exc:
            failed.append(f"{label}: {getattr(exc, 'message', exc)}")
    if failed:
        raise HatangError("the routers are not fully removed", details=failed)


def _kill_leftovers() -> None:
    """Whatever still runs inside a lab namespace (an SSH session, a daemon of a crashed
    ``up`` that never got recorded) is the lab's: stop it before its namespace goes."""
    procs = []
    for netns in netbuild.lab_netns():
        for pid in netbuild.netns_pids(netns):
            starttime = proc_starttime(pid)
            if starttime is not None:
                procs.append(Process(f"{netns}:{pid}", pid, starttime, netns=netns))
    terminate(procs, timeout_s=3.0)


# --- status --------------------------------------------------------------------------


def status(ctx: LabContext) -> list[dict]:
    topo = topology(ctx)
    procs = ctx.registry.read()
    namespaces = netbuild.netns_list()
    state = faults.read(ctx)

    def one(router) -> dict:
        address = str(router.mgmt.ip)
        daemons = {d: (p := procs.get(routerd.process_name(router.name, d))) is not None and is_alive(p) for d in routerd.DAEMONS}
        return {
            "device": router.name,
            "netns": router.netns if router.netns in namespaces else None,
            "mgmt": address,
            "daemons": daemons,
            "ping": ping(address),
            "ssh": tcp_open(address, 22, 1.0),
            "power": "off (killed)" if router.name in state.killed else "frozen" if router.name in state.frozen else "on",
        }

    return list(map_per_host(topo.routers, one, name_of=lambda r: r.name, max_workers=PROBE_WORKERS, what="routers: status").values())
