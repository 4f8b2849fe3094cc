"""``hatang monitor serve``: run the exporter until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import threading
from typing import Any

from hatang.console import info
from hatang.errors import CredentialError
from hatang.monitoring.exporter import Exporter, make_server
from hatang.monitoring.intent_metrics import inventory_metrics
from hatang.monitoring.snmp import SnmpAuth
from hatang.monitoring.targets import SNMP_VERSIONS, auth_for


def resolve_auths(env: str, version: str) -> dict[str, SnmpAuth]:
    """Every SNMP credential set available, resolved now: a missing default fails at start,
    not at 3 a.m. on a scrape; the other version is served too when its secrets exist."""
    auths: dict[str, SnmpAuth] = {}
    for name in SNMP_VERSIONS:
        try:
            auths[name] = auth_for(env, name)
        except CredentialError:
            if name == version:
                raise
    return auths


def run_server(inv: Any, *, listen: str, version: str, timeout: float, retries: int, concurrency: int) -> None:
    exporter = Exporter(resolve_auths(inv.env, version), default_auth=version, timeout=timeout, retries=retries, concurrency=concurrency, inventory_metrics=inventory_metrics(inv))
    server = make_server(exporter, listen)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    info(f"hatang SNMP exporter listening on http://{listen} (/snmp, /inventory, /metrics), default auth {version}")
    stop.wait()
    server.shutdown()
    exporter.close()
