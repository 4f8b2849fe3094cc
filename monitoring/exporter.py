"""hatang's SNMP exporter: snmp_exporter's multi-target HTTP pattern over hatang's poller.

- ``/snmp?target=HOST[:PORT]&module=if_mib[&module=system][&auth=v3|v2c]`` polls that
  target now and answers with snmp_exporter's metric and label names. A target that
  does not answer gets HTTP 500 and its error text, so Prometheus records ``up`` 0 for
  it; scrapes are independent coroutines on one event loop, so a dead target waits on
  its own timeout without delaying anyone else (the concurrency limit is the only
  thing they share).
- ``/inventory``: the inventory's intent as info metrics (``hatang_wan_port_info``,
  ``hatang_wan_port_bandwidth_bits``), which the alert rules join against to know
  which ports are WAN links and what bandwidth they were bought with.
- ``/metrics``: the exporter's own health (prometheus-client, process metrics).

HTTP requests are served by threads; all SNMP work runs in one asyncio loop on its
own thread with one pysnmp engine (pysnmp engines are not thread-safe), which also
keeps SNMPv3 engine discovery cached between scrapes.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from pysnmp.entity.engine import SnmpEngine

from hatang.errors import HatangError
from hatang.monitoring import modules as mods
from hatang.monitoring.exposition import CONTENT_TYPE, render
from hatang.monitoring.poller import TargetResult, poll_target
from hatang.monitoring.snmp import SnmpAuth
from hatang.monitoring.targets import Target

DEFAULT_LISTEN = "127.0.0.1:9116"
DEFAULT_DEADLINE_S = 10.0


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = CONTENT_TYPE


class Health:
    """The exporter's own metrics, in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.scrapes = Counter("hatang_exporter_scrapes", "SNMP scrapes served, by module and result.", ["module", "result"], registry=self.registry)
        self.duration = Histogram(
            "hatang_exporter_scrape_duration_seconds", "Time to serve one /snmp scrape.", ["module"], registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.in_flight = Gauge("hatang_exporter_scrapes_in_flight", "SNMP scrapes being served now.", registry=self.registry)


def parse_target(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and host:
        return host, int(port)
    return text, 161


class Exporter:
    """Scrapes targets on a private event loop; thread-safe ``scrape`` for the HTTP threads."""

    def __init__(self, auths: dict[str, SnmpAuth], *, default_auth: str, timeout: float, retries: int, concurrency: int, inventory_metrics: bytes | None = None):
        if default_auth not in auths:
            raise HatangError(f"no credentials for the default auth '{default_auth}'")
        self.auths, self.default_auth = auths, default_auth
        self.timeout, self.retries = timeout, retries
        self.inventory_metrics = inventory_metrics
        self.health = Health()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="snmp-loop", daemon=True)
        self._thread.start()
        self.engine, self.limit = self.call(self._setup(concurrency), 10)

    async def _setup(self, concurrency: int) -> tuple[SnmpEngine, asyncio.Semaphore]:
        return SnmpEngine(), asyncio.Semaphore(max(1, concurrency))

    def call(self, coroutine, timeout: float):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _poll(self, target: Target, module: mods.Module) -> TargetResult:
        async with self.limit:
            return await poll_target(self.engine, target, module, timeout=self.timeout, retries=self.retries)

    async def _scrape(self, target: Target, modules: list[mods.Module]) -> list[TargetResult]:
        return list(await asyncio.gather(*(self._poll(target, m) for m in modules)))

    def scrape(self, query: dict[str, list[str]], deadline_s: float) -> Reply:
        targets = query.get("target", [])
        if len(targets) != 1 or not targets[0]:
            return Reply(400, b"'target' parameter must be specified once\n", "text/plain")
        names = [name for value in query.get("module", ["if_mib"]) for name in value.split(",") if name]
        auth_name = query.get("auth", [self.default_auth])[0]
        if auth_name not in self.auths:
            return Reply(400, f"Unknown auth '{auth_name}'\n".encode(), "text/plain")
        try:
            modules = [mods.load(name) for name in names]
        except HatangError as exc:
            return Reply(400, f"Unknown module: {exc.message}\n".encode(), "text/plain")
        host, port = parse_target(targets[0])
        target = Target(name=targets[0], address=host, port=port, auth=self.auths[auth_name])
        label = ",".join(names)
        started = time.monotonic()
        self.health.in_flight.inc()
        try:
            results = self.call(self._scrape(target, modules), deadline_s)
        except FutureTimeout:
            results = [TargetResult(target.name, host, label, ok=False, error=f"{target.name}: scrape exceeded its {deadline_s:g}s deadline")]
        finally:
            self.health.in_flight.dec()
        self.health.duration.labels(label).observe(time.monotonic() - started)
        failed = [r.error for r in results if not r.ok]
        self.health.scrapes.labels(label, "error" if failed else "ok").inc()
        if failed:
            return Reply(500, ("\n".join(failed) + "\n").encode(), "text/plain")
        return Reply(200, render(results))

    def close(self) -> None:
        self.call(self._close(), 5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    async def _close(self) -> None:
        self.engine.close_dispatcher()


INDEX_PAGE = b"""<html><head><title>hatang SNMP exporter</title></head><body>
<h1>hatang SNMP exporter</h1><p>snmp_exporter's multi-target pattern:
<a href="/snmp?target=198.19.0.2&module=if_mib">/snmp?target=ADDRESS&amp;module=if_mib</a>,
<a href="/inventory">/inventory</a>, <a href="/metrics">/metrics</a>.</p></body></html>
"""


def handler_for(exporter: Exporter) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "hatang-snmp-exporter"

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urlsplit(self.path)
            routes: dict[str, Callable[[], Reply]] = {
                "/snmp": lambda: exporter.scrape(parse_qs(url.query), self._deadline()),
                "/metrics": lambda: Reply(200, generate_latest(exporter.health.registry)),
                "/inventory": lambda: Reply(200, exporter.inventory_metrics) if exporter.inventory_metrics is not None else Reply(404, b"started without an inventory\n", "text/plain"),
                "/": lambda: Reply(200, INDEX_PAGE, "text/html"),
            }
            route = routes.get(url.path)
            reply = route() if route else Reply(404, b"not found\n", "text/plain")
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def _deadline(self) -> float:
            """Prometheus' scrape timeout less a margin, as snmp_exporter does."""
            header = self.headers.get("X-Prometheus-Scrape-Timeout-Seconds")
            try:
                return max(0.5, float(header) - 0.5) if header else DEFAULT_DEADLINE_S
            except ValueError:
                return DEFAULT_DEADLINE_S

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet: Prometheus scrapes every few seconds
            return

    return Handler


def parse_listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise HatangError(f"--listen must be HOST:PORT, got '{text}'", exit_code=2)
    return host, int(port)


def bind(listen: str) -> socket.socket:
    """A listening TCP socket on ``listen`` (HOST:PORT), shared by every worker process."""
    host, port = parse_listen(listen)
    try:
        listener = socket.create_server((host, port), backlog=256)
    except OSError as exc:
        raise HatangError(f"cannot listen on {listen}: {exc.strerror}") from None
    return listener


def make_server(exporter: Exporter, listener: socket.socket) -> ThreadingHTTPServer:
    """The HTTP server of one process, on an already listening socket."""
    server = ThreadingHTTPServer(listener.getsockname()[:2], handler_for(exporter), bind_and_activate=False)
    server.socket.close()
    server.socket = listener
    server.daemon_threads = True
    return server
