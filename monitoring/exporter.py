"""hatang's SNMP exporter: snmp_exporter's multi-target HTTP pattern over hatang's poller.

- ``/snmp?target=HOST[:PORT]&module=if_mib[&module=system][&auth=v3|v2c]`` polls that
  target now and answers with snmp_exporter's metric and label names. A target that
  does not answer gets HTTP 500 and its error text, so Prometheus records ``up`` 0 for
  it; every scrape is its own coroutine, so a dead target waits on its own timeout
  without delaying anyone else (the concurrency limit is the only thing they share).
- ``/inventory``: the inventory's intent as info metrics (``hatang_wan_port_info``,
  ``hatang_wan_port_bandwidth_bits``), which the alert rules join against to know
  which ports are WAN links and what bandwidth they were bought with.
- ``/metrics``: the exporter's own health (prometheus-client, process metrics).

HTTP and SNMP share one asyncio loop per process and one pysnmp engine (which keeps
SNMPv3 engine discovery cached between scrapes). The HTTP side is the few lines a
Prometheus scrape needs (GET, one request per connection): no thread per request and
no hand-over between threads, which measurably cost CPU next to pysnmp's decoding.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
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
REQUEST_READ_S = 10.0


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
    """The scrapes of one process: parse a query, poll the target, render or refuse."""

    def __init__(self, auths: dict[str, SnmpAuth], *, default_auth: str, timeout: float, retries: int, concurrency: int, inventory_metrics: bytes | None = None):
        if default_auth not in auths:
            raise HatangError(f"no credentials for the default auth '{default_auth}'")
        self.auths, self.default_auth = auths, default_auth
        self.timeout, self.retries = timeout, retries
        self.inventory_metrics = inventory_metrics
        self.health = Health()
        self.engine = SnmpEngine()
        self.limit = asyncio.Semaphore(max(1, concurrency))

    async def _poll(self, target: Target, module: mods.Module) -> TargetResult:
        async with self.limit:
            return await poll_target(self.engine, target, module, timeout=self.timeout, retries=self.retries)

    async def scrape(self, query: dict[str, list[str]], deadline_s: float) -> Reply:
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
            results = await asyncio.wait_for(asyncio.gather(*(self._poll(target, m) for m in modules)), deadline_s)
        except asyncio.TimeoutError:
            results = [TargetResult(target.name, host, label, ok=False, error=f"{target.name}: scrape exceeded its {deadline_s:g}s deadline")]
        finally:
            self.health.in_flight.dec()
        self.health.duration.labels(label).observe(time.monotonic() - started)
        failed = [r.error for r in results if not r.ok]
        self.health.scrapes.labels(label, "error" if failed else "ok").inc()
        if failed:
            return Reply(500, ("\n".join(failed) + "\n").encode(), "text/plain")
        return Reply(200, render(results))

    async def route(self, path: str, headers: dict[str, str]) -> Reply:
        url = urlsplit(path)
        if url.path == "/snmp":
            return await self.scrape(parse_qs(url.query), deadline(headers))
        routes: dict[str, Callable[[], Reply]] = {
            "/metrics": lambda: Reply(200, generate_latest(self.health.registry)),
            "/inventory": lambda: Reply(200, self.inventory_metrics) if self.inventory_metrics is not None else Reply(404, b"started without an inventory\n", "text/plain"),
            "/": lambda: Reply(200, INDEX_PAGE, "text/html"),
        }
        route = routes.get(url.path)
        return route() if route else Reply(404, b"not found\n", "text/plain")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One HTTP request per connection, as Prometheus scrapes work with ``Connection: close``."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_READ_S)
            request, *lines = head.decode("latin-1").split("\r\n")
            method, path, _version = request.split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
            reply = await self.route(path, headers) if method in ("GET", "HEAD") else Reply(405, b"only GET\n", "text/plain")
            body = b"" if method == "HEAD" else reply.body
            writer.write(
                f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}\r\nContent-Type: {reply.content_type}\r\n"
                f"Content-Length: {len(reply.body)}\r\nConnection: close\r\n\r\n".encode() + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError, ValueError):
            pass  # a client that went away or sent no HTTP: nothing to answer
        finally:
            writer.close()

    def close(self) -> None:
        self.engine.close_dispatcher()


def deadline(headers: dict[str, str]) -> float:
    """Prometheus' scrape timeout less a margin, as snmp_exporter does."""
    try:
        return max(0.5, float(headers["x-prometheus-scrape-timeout-seconds"]) - 0.5)
    except (KeyError, ValueError):
        return DEFAULT_DEADLINE_S


INDEX_PAGE = b"""<html><head><title>hatang SNMP exporter</title></head><body>
<h1>hatang SNMP exporter</h1><p>snmp_exporter's multi-target pattern:
<a href="/snmp?target=198.19.0.2&module=if_mib">/snmp?target=ADDRESS&amp;module=if_mib</a>,
<a href="/inventory">/inventory</a>, <a href="/metrics">/metrics</a>.</p></body></html>
"""


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


async def serve_until(listener: socket.socket, make_exporter: Callable[[], Exporter], stop: asyncio.Event) -> None:
    """Serve on ``listener`` (in this process's loop) until ``stop`` is set."""
    exporter = make_exporter()
    server = await asyncio.start_server(exporter.handle, sock=listener, backlog=256)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        exporter.close()
