"""A real net-snmp agent on loopback for the monitoring tests that need no lab.

It runs with its own configuration and persistent directory in a temporary directory,
on a free UDP port of 127.0.0.1, with SNMPv2c and an SNMPv3 authPriv (SHA/AES) user
whose secrets are generated per run; the test that starts it stops it by its pid.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hatang.monitoring import modules as mods
from hatang.monitoring.scrape_policy import ScrapePolicy, parse_networks
from hatang.monitoring.snmp import SnmpAuth

SNMPD = "/usr/sbin/snmpd"
QUIET_MIBS = {"MIBS": "", "MIBDIRS": "/nonexistent"}
#: What the tests' exporters may poll: agents on loopback, every module.
LOOPBACK = ScrapePolicy(frozenset(), parse_networks(["127.0.0.1/32"]), frozenset(mods.available()))


@dataclass(frozen=True)
class Agent:
    port: int
    community: str
    user: str
    auth_key: str
    priv_key: str
    pid: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def v2c(self) -> SnmpAuth:
        return SnmpAuth("v2c", community=self.community)

    @property
    def v3(self) -> SnmpAuth:
        return SnmpAuth("v3", username=self.user, auth_key=self.auth_key, priv_key=self.priv_key)

    def cli_auth(self, version: str) -> list[str]:
        """net-snmp command-line options for the same credentials."""
        if version == "v2c":
            return ["-v2c", "-c", self.community]
        return ["-v3", "-l", "authPriv", "-u", self.user, "-a", "SHA", "-A", self.auth_key, "-x", "AES", "-X", self.priv_key]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(agent: Agent) -> bool:
    done = subprocess.run(
        ["snmpget", "-On", "-t", "0.5", "-r", "0", *agent.cli_auth("v2c"), agent.address, "1.3.6.1.2.1.1.3.0"],
        capture_output=True, env={**os.environ, **QUIET_MIBS},
    )
    return done.returncode == 0


@contextmanager
def running_agent(directory: Path) -> Iterator[Agent]:
    """snmpd on 127.0.0.1:<free port> for as long as the context lasts."""
    if shutil.which(SNMPD) is None:
        import pytest

        pytest.skip("snmpd is not installed (Debian package 'snmpd')")
    port = free_udp_port()
    community, user = "t" + secrets.token_hex(6), "htuser"
    auth_key, priv_key = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    persistent = directory / "persistent"
    persistent.mkdir(parents=True, exist_ok=True)
    conf = directory / "snmpd.conf"
    conf.write_text(
        f"agentaddress udp:127.0.0.1:{port}\nsysName hatang-test-agent\n"
        f"rocommunity {community} 127.0.0.1\ncreateUser {user} SHA {auth_key} AES {priv_key}\nrouser {user} priv\n"
        f"[snmp] persistentDir {persistent}\n"
    )
    log = (directory / "snmpd.log").open("w")
    proc = subprocess.Popen([SNMPD, "-f", "-Lo", "-C", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **QUIET_MIBS})
    agent = Agent(port, community, user, auth_key, priv_key, proc.pid)
    try:
        deadline = time.monotonic() + 10
        while not _answers(agent):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"snmpd did not start: {(directory / 'snmpd.log').read_text()[-500:]}")
            time.sleep(0.1)
        yield agent
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def snmpbulkwalk(agent_address: str, cli_auth: list[str], oid: str) -> dict[str, str]:
    """net-snmp's own walk of ``oid``: numeric OID -> value as text (-Oqn: no type, numeric)."""
    done = subprocess.run(
        ["snmpbulkwalk", "-Oqn", "-Oe", "-Ot", "-Cr25", "-t", "2", "-r", "1", *cli_auth, agent_address, oid],
        capture_output=True, text=True, env={**os.environ, **QUIET_MIBS}, check=True,
    )
    values = {}
    for line in done.stdout.splitlines():
        if not line.strip() or "No Such" in line:
            continue
        oid_text, _, value = line.partition(" ")
        values[oid_text.lstrip(".")] = value.strip().strip('"')
    return values


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(argv: list[str], ready_url: str, timeout: float = 30) -> Iterator[subprocess.Popen]:
    """Run a server (snmp_exporter, Prometheus) until ``ready_url`` answers; stop it by its pid."""
    import urllib.request

    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(ready_url, timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{argv[0]} did not answer {ready_url}") from None
                time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        proc.wait(15)


@contextmanager
def exporter_serving(make_exporter: Callable[[], Any]) -> Iterator[str]:
    """hatang's exporter serving loop on a thread of the test process; its URL. The
    exporter is made in the loop (``make_exporter``), stopped and joined at the end."""
    import asyncio
    import threading

    from hatang.monitoring.exporter import bind, serve_until

    listener = bind("127.0.0.1:0")
    loop = asyncio.new_event_loop()
    stop: list[asyncio.Event] = []

    async def main() -> None:
        stop.append(asyncio.Event())
        await serve_until(listener, make_exporter, stop[0])

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(30)
        loop.close()


@contextmanager
def backfilled_prometheus(base: Path, openmetrics: str, evaluation_interval: str = "1m") -> Iterator[str]:
    """A real Prometheus (1 m evaluation unless told) over ``openmetrics`` history, imported
    as TSDB blocks with ``promtool tsdb create-blocks-from openmetrics``; yields its URL."""
    (base / "history.om").write_text(openmetrics)
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(base / "history.om"), str(base / "data")], check=True, capture_output=True)
    (base / "prometheus.yml").write_text(f"global:\n  evaluation_interval: {evaluation_interval}\n")
    url = f"http://127.0.0.1:{free_tcp_port()}"
    argv = ["prometheus", f"--config.file={base / 'prometheus.yml'}", f"--storage.tsdb.path={base / 'data'}",
            f"--web.listen-address={url.removeprefix('http://')}", "--storage.tsdb.retention.time=30d"]
    with serving(argv, f"{url}/-/ready"):
        yield url
