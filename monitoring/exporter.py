"""hatang's SNMP exporter: snmp_exporter's multi-target HTTP pattern over hatang's poller.

- ``/snmp?target=ADDRESS[:PORT]&module=if_mib[&module=system][&auth=v3|v2c]`` polls that
  target now and answers with snmp_exporter's metric and label names. Targets and
  modules are only those :mod:`hatang.monitoring.scrape_policy` allows (403/400
  otherwise). A target that does not answer, or answers a walk out of order, gets HTTP
  500 and its error text, so Prometheus records ``up`` 0 for it; every scrape is its own
  coroutine, and a request holds its place in the concurrency limit for one timeout at
  most, so dead targets never queue live ones behind them.
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
from hatang.monitoring.limiter import Limiter
from hatang.monitoring.poller import TargetResult, poll_target
from hatang.monitoring.scrape_policy import Refused, ScrapePolicy, shown
from hatang.monitoring.snmp import SnmpAuth
from hatang.monitoring.targets import Target

DEFAULT_LISTEN = "127.0.0.1:9116"
DEFAULT_DEADLINE_S = 10.0
MAX_DEADLINE_S = 120.0  # whatever a client's header says
DEADLINE_MARGIN_S = 1.0  # the polls keep their own deadline; this only guards against a bug there
REQUEST_READ_S = 10.0
MAX_REQUEST_LINE = 8192  # longer gets 414, as Go's net/http and nginx do
MAX_HEADER_LINES = 100
MAX_QUERY_FIELDS = 32


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
        self.value_errors = Counter(
            "hatang_exporter_value_errors", "Values left out of scrapes because of their type (text in a counter column…).", ["module"], registry=self.registry,
        )
        self.in_flight = Gauge("hatang_exporter_scrapes_in_flight", "SNMP scrapes being served now.", registry=self.registry)


class Exporter:
    """The scrapes of one process: check a query against the policy, poll, render or refuse."""

    def __init__(
        self, auths: dict[str, SnmpAuth], *, default_auth: str, timeout: float, retries: int, concurrency: int,
        policy: ScrapePolicy, inventory_metrics: bytes | None = None,
    ):
        if default_auth not in auths:
            raise HatangError(f"no credentials for the default auth '{default_auth}'")
        self.auths, self.default_auth, self.policy = auths, default_auth, policy
        self.timeout, self.retries = timeout, retries
        self.inventory_metrics = inventory_metrics
        self.health = Health()
        self.engine = SnmpEngine()
        self.limit = Limiter(concurrency)
        self.connections: set[asyncio.Task] = set()

    def _request(self, query: dict[str, list[str]]) -> tuple[Target, list[mods.Module]]:
        """The target and modules a query asks for, or :class:`Refused`."""
        targets = query.get("target", [])
        if len(targets) != 1 or not targets[0]:
            raise Refused(400, "'target' parameter must be specified once")
        auths = query.get("auth", [self.default_auth])
        if len(auths) != 1 or auths[0] not in self.auths:
            raise Refused(400, f"Unknown auth {shown(auths[-1])} (served: {', '.join(sorted(self.auths))})")
        names = list(dict.fromkeys(name for value in query.get("module", ["if_mib"]) for name in value.split(",") if name))
        if not names:
            raise Refused(400, "'module' names no module")
        modules = [self.policy.module(name) for name in names]
        host, port = self.policy.target(targets[0])
        return Target(name=targets[0], address=host, port=port, auth=self.auths[auths[0]]), modules

    async def scrape(self, query: dict[str, list[str]], deadline_s: float) -> Reply:
        try:
            target, modules = self._request(query)
        except Refused as refused:
            return Reply(refused.status, f"{refused.reason}\n".encode(), "text/plain")
        label = ",".join(m.module for m in modules)
        started = time.monotonic()
        self.health.in_flight.inc()
        try:
            polls = (poll_target(self.engine, target, m, timeout=self.timeout, retries=self.retries, deadline_s=deadline_s, limit=self.limit) for m in modules)
            async with asyncio.timeout(deadline_s + DEADLINE_MARGIN_S):
                results = await asyncio.gather(*polls)
        except TimeoutError:
            results = [TargetResult(target.name, target.address, label, ok=False, error=f"{target.name}: scrape exceeded its {deadline_s:g}s deadline")]
        finally:
            self.health.in_flight.dec()
        self.health.duration.labels(label).observe(time.monotonic() - started)
        for result in results:
            if result.value_errors:
                self.health.value_errors.labels(result.module).inc(result.value_errors)
        failed = [r.error for r in results if not r.ok]
        self.health.scrapes.labels(label, "error" if failed else "ok").inc()
        if failed:
            return Reply(500, ("\n".join(failed) + "\n").encode(), "text/plain")
        return Reply(200, render(results))

    async def route(self, path: str, headers: dict[str, str]) -> Reply:
        url = urlsplit(path)
        if url.path == "/snmp":
            try:
                query = parse_qs(url.query, max_num_fields=MAX_QUERY_FIELDS)
            except ValueError:
                return Reply(400, f"more than {MAX_QUERY_FIELDS} query parameters\n".encode(), "text/plain")
            return await self.scrape(query, deadline(headers))
        routes: dict[str, Callable[[], Reply]] = {
            "/metrics": lambda: Reply(200, generate_latest(self.health.registry)),
            "/inventory": lambda: Reply(200, self.inventory_metrics) if self.inventory_metrics is not None else Reply(404, b"started without an inventory\n", "text/plain"),
            "/": lambda: Reply(200, INDEX_PAGE, "text/html"),
        }
        route = routes.get(url.path)
        return route() if route else Reply(404, b"not found\n", "text/plain")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One HTTP request per connection, as Prometheus scrapes work with ``Connection: close``."""
        self.connections.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            method = "GET"
            try:
                request, headers = await asyncio.wait_for(read_head(reader), REQUEST_READ_S)
                method, path, _version = request.split(" ", 2)
            except Refused as refused:
                reply = Reply(refused.status, f"{refused.reason}\n".encode(), "text/plain")
            else:
                reply = await self.route(path, headers) if method in ("GET", "HEAD") else Reply(405, b"only GET\n", "text/plain")
            body = b"" if method == "HEAD" else reply.body
            writer.write(
                f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}\r\nContent-Type: {reply.content_type}\r\n"
                f"Content-Length: {len(reply.body)}\r\nConnection: close\r\n\r\n".encode() + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, ValueError):
            pass  # a client that went away or sent no HTTP: nothing to answer
        except asyncio.CancelledError:
            pass  # the exporter is stopping (close): the client sees the connection close
        finally:
            self.connections.discard(asyncio.current_task())  # type: ignore[arg-type]
            writer.close()

    async def close(self) -> None:
        """Stop the requests being served (their clients see the connection close), then
        the SNMP engine: nothing is left waiting on a closed dispatcher."""
        for task in list(self.connections):
            task.cancel()
        await asyncio.gather(*self.connections, return_exceptions=True)
        self.engine.close_dispatcher()


async def read_line(reader: asyncio.StreamReader, status: int, what: str) -> str:
    """One CRLF-terminated line of at most the stream's limit, or :class:`Refused` with ``status``."""
    try:
        line = await reader.readuntil(b"\r\n")
    except asyncio.LimitOverrunError:
        raise Refused(status, f"{what} longer than {MAX_REQUEST_LINE} bytes") from None
    return line[:-2].decode("latin-1")


async def read_head(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    """The request line and headers, bounded: a too-long request line is 414, too-long
    or too many header lines 431."""
    request = await read_line(reader, 414, "request line")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADER_LINES):
        line = await read_line(reader, 431, "header line")
        if not line:
            return request, headers
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    raise Refused(431, f"more than {MAX_HEADER_LINES} header lines")


def deadline(headers: dict[str, str]) -> float:
    """Prometheus' scrape timeout less a margin, as snmp_exporter does."""
    try:
        asked = float(headers["x-prometheus-scrape-timeout-seconds"]) - 0.5
    except (KeyError, ValueError):
        return DEFAULT_DEADLINE_S
    return min(max(0.5, asked), MAX_DEADLINE_S) if asked == asked else DEFAULT_DEADLINE_S  # NaN is not a deadline


INDEX_PAGE = b"""<html><head><title>hatang SNMP exporter</title></head><body>
<h1>hatang SNMP exporter</h1><p>snmp_exporter's multi-target pattern:
<a href="/snmp?target=198.19.0.10&module=if_mib">/snmp?target=ADDRESS&amp;module=if_mib</a>,
<a href="/inventory">/inventory</a>, <a href="/metrics">/metrics</a>.</p></body></html>
"""


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT``, port 0-65535 (0: any free port)."""
    host, _, port = text.rpartition(":")
    if not host or not (port.isascii() and port.isdigit()):
        raise HatangError(f"--listen must be HOST:PORT, got '{text}'", exit_code=2)
    if int(port) > 65535:
        raise HatangError(f"--listen port {port} is out of range (0-65535)", exit_code=2)
    return host.removeprefix("[").removesuffix("]"), int(port)


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
    server = await asyncio.start_server(exporter.handle, sock=listener, backlog=256, limit=MAX_REQUEST_LINE)
    try:
        await stop.wait()
    finally:
        server.close()
        await exporter.close()
        await server.wait_closed()
