"""The HTTPS front: PVE's request handling order, answer shapes and status codes.

Order per request, as pveproxy/pvedaemon do: authenticate (API token, or ticket cookie
plus CSRFPreventionToken for writes), find the method in the schema (501 if none),
verify parameters (400 ``Parameter verification failed.`` with an ``errors`` map),
reach the node (595 ``No route to host`` when it is offline), check permissions (403),
run the handler. Errors carry their message in the HTTP reason phrase and
``{"data": null}`` in the body, as PVE's do.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from hatang.cloud.schema import RouteError, Schema, check_parameters
from hatang.lab.pvesim import access as acl
from hatang.lab.pvesim.faults import Faults
from hatang.lab.pvesim.routes import LOCKS_ITSELF, ROUTES, Call, served
from hatang.lab.pvesim.store import ClusterState, SimError
from hatang.lab.pvesim.tasks import Tasks

PREFIX = "/api2/json"
log = logging.getLogger("pvesim")


@dataclass
class ClusterSim:
    """Everything one cluster's endpoint needs."""

    state: ClusterState
    tasks: Tasks
    faults: Faults
    access: acl.Access
    schema: Schema
    latency_s: float = 0.0  # added to every answer: a real pveproxy's cost per request, if wanted


class Answer(Exception):
    """Stop handling and answer with this status, reason and body."""

    def __init__(self, status: int, reason: str, body: dict[str, Any] | None = None):
        super().__init__(reason)
        self.status, self.reason, self.body = status, reason, body or {"data": None}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall
    server_version = "pve-api-daemon/3.0"
    sys_version = ""
    timeout = 120
    sim: ClusterSim  # set per listener (a subclass per cluster)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, verb: str) -> None:
        if self.sim.latency_s:
            time.sleep(self.sim.latency_s)
        try:
            status, reason, body = 200, "OK", {"data": self._handle(verb)}
        except Answer as answer:
            status, reason, body = answer.status, answer.reason, answer.body
        except SimError as exc:
            status, reason = exc.status, exc.message
            body = {"data": None, **({"errors": exc.errors} if exc.errors else {})}
        except acl.PermissionDenied as exc:
            status, reason, body = 403, str(exc), {"data": None}
        except Exception as exc:  # a simulator bug must still answer, as PVE answers 500
            log.error("%s %s failed:\n%s", verb, self.path, traceback.format_exc())
            status, reason, body = 500, f"simulator error: {exc}", {"data": None}
        payload = json.dumps(body).encode()
        self.send_response(status, reason.replace("\n", " ").strip().encode("latin-1", "replace").decode("latin-1"))
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "max-age=0")
        self.end_headers()
        self.wfile.write(payload)

    def _params(self) -> tuple[str, dict[str, Any]]:
        url = urlsplit(self.path)
        pairs = parse_qsl(url.query, keep_blank_values=True)
        params: dict[str, Any] = {}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            raw = self.rfile.read(length).decode()
            if (self.headers.get("Content-Type") or "").startswith("application/json"):
                params.update({k: v for k, v in json.loads(raw or "{}").items() if v is not None})
            else:
                pairs += parse_qsl(raw, keep_blank_values=True)
        for key, value in pairs:  # a key given again is an array's next item (``command=a&command=b``)
            params[key] = [*(params[key] if isinstance(params[key], list) else [params[key]]), value] if key in params else value
        return url.path, params  # still quoted: the schema match splits on "/" first

    def _principal(self, verb: str) -> acl.Principal:
        header = self.headers.get("Authorization") or ""
        if header.startswith("PVEAPIToken="):
            principal = self.sim.access.from_token(header[len("PVEAPIToken="):])
        else:
            cookies = dict(p.strip().split("=", 1) for p in (self.headers.get("Cookie") or "").split(";") if "=" in p)
            ticket = unquote(cookies.get("PVEAuthCookie", ""))
            if not ticket:
                raise Answer(401, "No ticket")
            principal = self.sim.access.from_ticket(ticket, self.headers.get("CSRFPreventionToken"), needs_csrf=verb != "GET")
        if principal is None:
            raise Answer(401, "authentication failure")
        return principal

    def _handle(self, verb: str) -> Any:
        path, params = self._params()
        if not path.startswith(PREFIX + "/"):
            raise Answer(501, f"Method '{verb} {path}' not implemented")
        api_path = path[len(PREFIX):]
        try:
            method, path_values = self.sim.schema.match(verb, api_path)
        except RouteError:
            raise Answer(501, f"Method '{verb} {api_path}' not implemented") from None
        if (verb, method.path) == ("POST", "/access/ticket"):
            return self._login(method, params)
        principal = self._principal(verb)
        params = {**params, **path_values}
        errors = check_parameters(method, params)
        if errors:
            raise Answer(400, "Parameter verification failed.", {"data": None, "errors": errors})
        forced = self.sim.faults.take_http_error(verb, api_path)
        if forced:
            raise Answer(forced[0], forced[1])
        if "node" in path_values and self.sim.faults.is_offline(path_values["node"]):
            raise Answer(595, "No route to host")
        acl.check(principal, method.permissions, params)
        handler = ROUTES.get((verb, method.path))
        if handler is None:
            raise Answer(501, f"Method '{verb} {method.path}' not implemented by the simulator")
        call = Call(self.sim, principal, method, params)
        if (verb, method.path) in LOCKS_ITSELF:
            return handler(call)
        with self.sim.state.lock:
            return handler(call)

    def _login(self, method: Any, params: dict[str, Any]) -> dict[str, Any]:
        errors = check_parameters(method, params)
        if errors:
            raise Answer(400, "Parameter verification failed.", {"data": None, "errors": errors})
        username = params["username"] if "@" in params["username"] else f"{params['username']}@{params.get('realm', 'pam')}"
        tickets = self.sim.access.login(username, params["password"])
        if tickets is None:
            raise Answer(401, "authentication failure")
        return {"username": username, "ticket": tickets[0], "CSRFPreventionToken": tickets[1], "cap": {}}


class TLSServer(ThreadingHTTPServer):
    """One node's pveproxy: it answers for the whole cluster, and not at all while its
    node is down (the connection is closed unanswered)."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: type[Handler], context: ssl.SSLContext, node: str = ""):
        super().__init__(address, handler)
        self.node = node
        # the handshake happens in the handler's thread, not in the accepting one
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return not (self.node and self.RequestHandlerClass.sim.faults.is_offline(self.node))

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended: %s", client_address, traceback.format_exc(limit=1))


def listener(sim: ClusterSim, host: str, port: int, cert: Path, key: Path, node: str = "") -> TLSServer:
    """An HTTPS server for one cluster on one node (call ``serve_forever`` in a thread)."""
    served()  # the route modules register themselves on import
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    handler = type(f"Handler_{sim.state.name}", (Handler,), {"sim": sim})
    return TLSServer((host, port), handler, context, node)
