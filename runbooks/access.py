"""Read-only access to devices for the diagnostics: napalm drivers behind a guard.

Runbooks run at night by people who may never have used hatang; nothing they run may
change a router. :class:`ReadOnlyDriver` lets through only napalm's getters, ``ping``,
``traceroute``, ``is_alive`` and the session's ``open``/``close``; anything else
(``load_merge_candidate``, ``commit_config``, ``rollback``…) raises
:class:`ReadOnlyViolation` before it reaches the device; ``cli`` passes only the show
commands of the state layer's readers (``hatang.network.state``), nothing else.

:class:`DriverPool` opens one session per device on first use and shares it between
the checks that need it (a napalm session is not thread-safe, so calls on one device
are serialised); a device that failed to open is not retried within the run, so an
unreachable router costs one timeout, not one per check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hatang.errors import HatangError
from hatang.inventory.inventory import Inventory

READ_ONLY_METHODS = frozenset({"open", "close", "is_alive", "ping", "traceroute"})
DRIVER_TIMEOUT_S = 6
"""SSH connect and command timeout of a diagnostic session, in seconds."""
SNMP_TIMEOUT_S = 2.0
SNMP_RETRIES = 1

DriverFactory = Callable[[Inventory, str], Any]


class ReadOnlyViolation(HatangError):
    """A diagnostic tried to call a driver method that could change the device."""


def is_read_only(method: str) -> bool:
    return method in READ_ONLY_METHODS or method.startswith("get_")


class ReadOnlyDriver:
    """A napalm driver that can only read; calls on it are serialised."""

    def __init__(self, driver: Any, device: str):
        self._driver = driver
        self._device = device
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name == "cli":
            return self._cli
        if not is_read_only(name):
            raise ReadOnlyViolation(f"{self._device}: '{name}' is not a read-only driver method; runbook diagnostics never change a device")
        method = getattr(self._driver, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return call

    def _cli(self, commands: list[str], *args: Any, **kwargs: Any) -> Any:
        from hatang.network.state import read_only_command

        refused = [c for c in commands if not read_only_command(c)]
        if refused:
            raise ReadOnlyViolation(f"{self._device}: '{refused[0]}' is not a show command of hatang's state readers; runbook diagnostics never change a device")
        with self._lock:
            return self._driver.cli(commands, *args, **kwargs)


def napalm_driver(inv: Inventory, device: str) -> Any:
    """An opened napalm driver for ``device`` (the network room's connection settings),
    logged in with the read-only account ``net-readonly`` for the getters."""
    from hatang.credentials import credential
    from hatang.network.connect import driver_args, driver_class

    name, kwargs = driver_args(inv, device, timeout=DRIVER_TIMEOUT_S)
    kwargs |= credential("net-readonly", ("username", "password"), env=inv.env)
    driver = driver_class(name)(**kwargs)
    driver.open()
    return driver


class DriverPool:
    """Sessions to devices, opened on first use, closed together at the end of a run."""

    def __init__(self, inv: Inventory, factory: DriverFactory = napalm_driver):
        self._inv = inv
        self._factory = factory
        self._lock = threading.Lock()
        self._device_locks: dict[str, threading.Lock] = {}
        self._open: dict[str, ReadOnlyDriver] = {}
        self._raw: dict[str, Any] = {}
        self._failed: dict[str, Exception] = {}

    def _device_lock(self, device: str) -> threading.Lock:
        with self._lock:
            return self._device_locks.setdefault(device, threading.Lock())

    def get(self, device: str) -> ReadOnlyDriver:
        """The read-only session to ``device``; raises what opening it raised."""
        lock = self._device_lock(device)
        with lock:
            if device in self._failed:
                raise self._failed[device]
            if device not in self._open:
                try:
                    self._raw[device] = self._factory(self._inv, device)
                except Exception as exc:
                    self._failed[device] = exc
                    raise
                self._open[device] = ReadOnlyDriver(self._raw[device], device)
            return self._open[device]

    def close(self) -> None:
        for driver in self._raw.values():
            try:
                driver.close()
            except Exception:  # closing a dead session must not hide the findings
                pass
        self._raw.clear()
        self._open.clear()

    def __enter__(self) -> "DriverPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class IfRow:
    """One interface as the agent reports it (IF-MIB)."""

    name: str
    admin: int
    oper: int
    speed_mbps: float
    counters: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class IfSnapshot:
    """The interface table and uptime of one device at one moment (``at``: monotonic)."""

    device: str
    at: float
    uptime_s: float | None
    rows: dict[str, IfRow]


class SnmpUnanswered(HatangError):
    """The device's SNMP agent did not answer (the poller's message says why)."""


def snmp_snapshot(inv: Inventory, device: str) -> IfSnapshot:
    """Poll ``device`` with the monitoring room's if_mib module (GET and WALK only)."""
    from hatang.monitoring.poller import poll_device

    at = time.monotonic()
    result = poll_device(inv, device, "if_mib", timeout=SNMP_TIMEOUT_S, retries=SNMP_RETRIES)
    if not result.ok:
        raise SnmpUnanswered(result.error)
    rows = {}
    for row in result.rows("ifIndex").values():
        name = row.get("ifName") or row.get("ifDescr", "")
        counters = {k: v for k, v in row.items() if isinstance(v, float)}
        rows[name] = IfRow(name, int(row.get("ifAdminStatus", 0)), int(row.get("ifOperStatus", 0)), row.get("ifHighSpeed", 0.0), counters)
    ticks = result.value("sysUpTime")
    return IfSnapshot(device, at, None if ticks is None else ticks / 100, rows)
