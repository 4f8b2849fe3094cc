"""The Proxmox VE API client hatang uses: proxmoxer, an endpoint per cluster, one token.

``connect(inv, cluster)`` returns a proxmoxer ``ProxmoxAPI`` (other rooms use it as is);
:class:`Pve` wraps one with string paths, PVE's errors as :class:`PveError`, task
waiting, and a count of the calls made (plans print it). Every request can be recorded
(:func:`recording`), which is how the tests hold hatang's calls to the API schema.

Endpoints: every node of a cluster runs pveproxy and answers for the whole cluster, so
a client that knows only one node loses the cluster with it. :class:`Pve` holds every
node's endpoint and, when one cannot be connected to, moves on to the next (the request
never reached PVE, so repeating it is safe). In the lab, the simulator's
``endpoints.json`` (a port per node and the certificate to trust);
``$HATANG_PVE_ENDPOINTS`` names another such file; in production, each node's address
on the ``pve-mgmt`` VLAN, port 8006, verified against the system's CAs or
``$HATANG_PVE_CA``. ``$HATANG_PVE_TIMEOUT`` sets the seconds to wait for an answer (15).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from proxmoxer import ProxmoxAPI, ResourceException

from hatang.cloud.errors import PveError, TaskError, UnreachableError
from hatang.cloud.retry import with_backoff
from hatang.credentials import secret
from hatang.errors import HatangError
from hatang.inventory.inventory import Inventory
from hatang.paths import state_dir

API_PREFIX = "/api2/json"
PVE_PORT = 8006


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    verify: str | bool


@dataclass(frozen=True)
class Recorded:
    verb: str
    path: str
    params: dict[str, str]


@dataclass
class CallLog:
    """Calls made through the clients it is attached to (thread-safe)."""

    calls: list[Recorded] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, call: Recorded) -> None:
        with self._lock:
            self.calls.append(call)


_recorders: list[CallLog] = []


@contextmanager
def recording() -> Iterator[CallLog]:
    """Record every call any hatang Proxmox client makes while the block runs."""
    log = CallLog()
    _recorders.append(log)
    try:
        yield log
    finally:
        _recorders.remove(log)


def simulator_endpoints_file() -> Path:
    """Where the lab's simulator says where it listens."""
    return state_dir() / "lab" / "pvesim" / "endpoints.json"


def endpoints(inv: Inventory, cluster: str) -> list[Endpoint]:
    """Every node's API endpoint of ``cluster``, the first node's first."""
    if cluster not in inv.cluster_by_name:
        raise HatangError(f"unknown cluster '{cluster}'; the inventory declares: {', '.join(sorted(inv.cluster_by_name))}")
    override = os.environ.get("HATANG_PVE_ENDPOINTS")
    if override or inv.env == "lab":
        path = Path(override) if override else simulator_endpoints_file()
        try:
            entry = json.loads(path.read_text())[cluster]
        except FileNotFoundError:
            raise HatangError(f"no Proxmox endpoints file {path}: is the lab up? ('hatang lab up')") from None
        except (KeyError, json.JSONDecodeError) as exc:
            raise HatangError(f"{path}: no endpoint for cluster '{cluster}' ({exc})") from None
        ports = list((entry.get("nodes") or {}).values()) or [entry["port"]]
        return [Endpoint(entry["host"], int(port), entry.get("ca") or True) for port in ports]
    ca = os.environ.get("HATANG_PVE_CA") or True
    return [Endpoint(str(inv.host_address(node.name, inv.pve_mgmt_vlan).ip), PVE_PORT, ca)
            for node in inv.cluster_by_name[cluster].nodes]


def request_timeout() -> float:
    raw = os.environ.get("HATANG_PVE_TIMEOUT", "15")
    try:
        value = float(raw)
    except ValueError:
        raise HatangError(f"$HATANG_PVE_TIMEOUT must be a number of seconds, not '{raw}'") from None
    if not 0 < value <= 600:
        raise HatangError(f"$HATANG_PVE_TIMEOUT must be between 0 and 600 seconds, not {value:g}")
    return value


def _record_session(api: ProxmoxAPI) -> None:
    """Wrap the session so every request is counted into the active recorders."""
    session = api._store["session"]
    original = session.request

    def request(method: str, url: str, params: Any = None, data: Any = None, **kwargs: Any) -> Any:
        path = urlsplit(url).path
        path = path[path.index(API_PREFIX) + len(API_PREFIX):] if API_PREFIX in path else path
        sent = {k: [str(i) for i in v] if isinstance(v, list) else str(v) for k, v in dict(params or data or {}).items() if v is not None}
        for log in list(_recorders):
            log.add(Recorded(method, path, sent))
        return original(method, url, params=params, data=data, **kwargs)

    session.request = request


def connect(inv: Inventory, cluster_name: str, *, timeout: float | None = None, point: Endpoint | None = None) -> ProxmoxAPI:
    """A proxmoxer client for one cluster (at ``point``, else its first node), authenticated
    with the ``pve-api`` token."""
    point = point or endpoints(inv, cluster_name)[0]
    timeout = request_timeout() if timeout is None else timeout
    token_id = secret("pve-api", "token_id", env=inv.env)
    user, _, token_name = token_id.partition("!")
    if not token_name or "@" not in user:
        raise HatangError(f"credential 'pve-api' field 'token_id' must read user@realm!tokenname, not '{token_id}'")
    api = ProxmoxAPI(point.host, port=point.port, user=user, token_name=token_name,
                     token_value=secret("pve-api", "secret", env=inv.env), verify_ssl=point.verify, timeout=timeout)
    # apply runs up to 32 actions at once over one session: keep that many connections alive
    api._store["session"].mount("https://", requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32))
    _record_session(api)
    return api


def succeeded(exitstatus: str) -> bool:
    """A stopped task's ``exitstatus`` that PVE counts as success: ``OK``, or ``WARNINGS: n``
    (the worker logged warnings and finished)."""
    return exitstatus == "OK" or exitstatus.startswith("WARNINGS")


class Pve:
    """One cluster's API with string paths, PVE's errors, task waits and a call count."""

    def __init__(self, api: ProxmoxAPI, cluster: str, fallbacks: list[Callable[[], ProxmoxAPI]] | None = None):
        self.api = api
        self.cluster = cluster
        self.url = api._store["base_url"]
        self.calls = 0
        self._lock = threading.Lock()
        self._fallbacks = list(fallbacks or [])  # the other nodes' endpoints, tried in turn

    @classmethod
    def open(cls, inv: Inventory, cluster: str) -> "Pve":
        first, *others = endpoints(inv, cluster)
        return cls(connect(inv, cluster, point=first), cluster,
                   [lambda point=point: connect(inv, cluster, point=point) for point in others])

    def request(self, verb: str, path: str, /, **params: Any) -> Any:
        while True:
            try:
                return self._request(verb, path, **params)
            except UnreachableError as exc:
                if exc.timeout or not exc.refused:
                    raise
                with self._lock:
                    if not self._fallbacks:
                        raise
                    self.api = self._fallbacks.pop(0)()
                    self.url = self.api._store["base_url"]

    def _request(self, verb: str, path: str, /, **params: Any) -> Any:
        with self._lock:
            self.calls += 1
            api = self.api
        resource = api(path.strip("/"))
        try:
            return getattr(resource, verb.lower())(**params)
        except ResourceException as exc:
            errors = exc.errors if isinstance(exc.errors, dict) else {}
            raise PveError(self.cluster, verb, path, exc.status_code, str(exc.content), errors) from None
        except requests.ConnectTimeout as exc:  # no connection: the request never reached PVE
            raise UnreachableError(f"{self.cluster}: cannot connect to the Proxmox API at {self.url} in time ({exc})", refused=True) from None
        except requests.Timeout as exc:
            raise UnreachableError(f"{self.cluster}: {verb} {path}: no answer in time ({exc})", timeout=True) from None
        except requests.exceptions.SSLError as exc:
            if "EOF" in str(exc):  # closed before the handshake ended: no request was sent
                raise UnreachableError(f"{self.cluster}: the Proxmox API at {self.url} closed the connection unanswered", refused=True) from None
            raise UnreachableError(f"{self.cluster}: TLS verification of the Proxmox API at {self.url} failed: {exc}") from None
        except requests.ConnectionError as exc:
            reason = exc.args[0].reason if exc.args and hasattr(exc.args[0], "reason") else exc
            raise UnreachableError(f"{self.cluster}: cannot reach the Proxmox API at {self.url}: {reason}", refused=True) from None

    def get(self, path: str, /, **params: Any) -> Any:
        return self.request("GET", path, **params)

    def post(self, path: str, /, **params: Any) -> Any:
        return self.request("POST", path, **params)

    def put(self, path: str, /, **params: Any) -> Any:
        return self.request("PUT", path, **params)

    def delete(self, path: str, /, **params: Any) -> Any:
        return self.request("DELETE", path, **params)

    def wait(self, upid: str, what: str, *, timeout_s: float = 300.0, poll_s: float = 0.05) -> list[str]:
        """Wait for a task to stop; raise TaskError naming ``what`` unless it succeeded.
        ``WARNINGS: n`` is a success in PVE (the worker logged warnings and finished): the
        warnings are read from the task log and returned."""
        node = upid.split(":")[1]
        deadline = time.monotonic() + timeout_s
        delay = poll_s
        while True:
            status = with_backoff(lambda: self.get(f"nodes/{node}/tasks/{upid}/status"))
            if status.get("status") == "stopped":
                exitstatus = str(status.get("exitstatus"))
                if not succeeded(exitstatus):
                    raise TaskError(f"{what}: task {status.get('type')} on {node} failed: {exitstatus}", upid=upid, exitstatus=exitstatus)
                return self.task_warnings(node, upid, what) if exitstatus.startswith("WARNINGS") else []
            if time.monotonic() >= deadline:
                raise TaskError(f"{what}: task {upid} still running after {timeout_s:g} s", upid=upid, timeout=True)
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)

    def task_warnings(self, node: str, upid: str, what: str) -> list[str]:
        """The ``WARN:`` lines of a task's log (its first 500 lines)."""
        lines = with_backoff(lambda: self.get(f"nodes/{node}/tasks/{upid}/log", limit=500))
        return [f"{what}: {line['t']}" for line in lines if str(line.get("t", "")).startswith("WARN")]

    def run(self, verb: str, path: str, what: str, *, timeout_s: float = 300.0, **params: Any) -> None:
        """Start a task-returning call and wait for it."""
        upid = self.request(verb, path, **params)
        if upid:
            self.wait(upid, what, timeout_s=timeout_s)
