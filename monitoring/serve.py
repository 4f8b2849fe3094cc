"""``hatang monitor serve``: run the exporter until SIGTERM or Ctrl-C.

With ``--workers N`` the process forks N - 1 copies that accept on the same listening
socket (the kernel spreads connections between them): pysnmp's BER decoding is pure
Python and bound to one core per process, so this is how the exporter uses the
machine's cores. Each worker has its own SNMP engine and its own ``/metrics``; the
workers die with the parent (PR_SET_PDEATHSIG), and the parent stops them on exit.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

from hatang.console import info
from hatang.errors import CredentialError, HatangError
from hatang.monitoring.exporter import Exporter, bind, serve_until
from hatang.monitoring.intent_metrics import inventory_metrics
from hatang.monitoring.scrape_policy import ScrapePolicy
from hatang.monitoring.snmp import SnmpAuth
from hatang.monitoring.targets import SNMP_VERSIONS, auth_for

PR_SET_PDEATHSIG = 1


def resolve_auths(env: str, version: str, *, allow_v2c: bool = False) -> dict[str, SnmpAuth]:
    """Every SNMP credential set the exporter may serve, resolved now: a missing default
    fails at start, not at 3 a.m. on a scrape; the other version is served too when its
    secrets exist. In production SNMPv2c (a community in clear) only with ``allow_v2c``."""
    if version not in SNMP_VERSIONS:
        raise HatangError(f"unknown SNMP version '{version}' (known: {', '.join(SNMP_VERSIONS)})", exit_code=2)
    v2c_refused = env == "production" and not allow_v2c
    if version == "v2c" and v2c_refused:
        raise HatangError("SNMPv2c sends its community in clear: in production it is served only with --allow-v2c", exit_code=2)
    auths: dict[str, SnmpAuth] = {}
    for name in SNMP_VERSIONS:
        if name == "v2c" and v2c_refused:
            continue
        try:
            auths[name] = auth_for(env, name)
        except CredentialError:
            if name == version:
                raise
    return auths


def serve(listener: socket.socket, make_exporter: Callable[[], Exporter]) -> None:
    """Serve on ``listener`` in this process until SIGTERM or SIGINT."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve_until(listener, make_exporter, stop)

    asyncio.run(main())


def fork_worker(work: Callable[[], None]) -> int:
    """Run ``work`` in a child process that dies with this one; returns its pid."""
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == parent:  # the parent did not die before prctl took effect
            work()
    finally:
        os._exit(0)


def stop_workers(pids: list[int], grace_s: float = 5.0) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for pid in pids:
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.05)


def run_server(
    inv: Any, *, listen: str, version: str, timeout: float, retries: int, concurrency: int, workers: int = 1,
    allow_targets: Sequence[str] = (), allow_v2c: bool = False,
) -> None:
    """Check everything (credentials, targets, address), then listen and serve until
    SIGTERM or Ctrl-C, which stop the scrapes in flight and exit cleanly."""
    auths = resolve_auths(inv.env, version, allow_v2c=allow_v2c)
    policy = ScrapePolicy.of(inv, allow_targets)
    intent = inventory_metrics(inv)

    def make_exporter() -> Exporter:
        return Exporter(auths, default_auth=version, timeout=timeout, retries=retries, concurrency=concurrency, policy=policy, inventory_metrics=intent)

    listener = bind(listen)
    children = [fork_worker(lambda: serve(listener, make_exporter)) for _ in range(max(1, workers) - 1)]
    widened = f", also {', '.join(map(str, policy.networks))}" if policy.networks else ""
    info(f"hatang SNMP exporter listening on http://{listen} (/snmp, /inventory, /metrics), default auth {version}, serving {', '.join(auths)}, "
         f"{len(policy.addresses)} inventory targets{widened}, {max(1, workers)} worker(s)")
    try:
        serve(listener, make_exporter)
    finally:
        stop_workers(children)
    info("hatang SNMP exporter stopped")
