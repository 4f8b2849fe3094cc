"""Post-checks of a commit: is the router still managed, routed and monitored?

Each check answers True (passed), False (failed, with a reason) or None (does not apply,
e.g. the core has no uplink). Routing checks poll until ``timeout_s``: an adjacency
takes a hello or two to come up after a change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from napalm.base import NetworkDriver

from hatang.inventory.inventory import Inventory
from hatang.monitoring.poller import DevicePoller, poll_device
from hatang.network.state import state_reader
from hatang.probe import tcp_open

#: Between two polls of a check: a new adjacency takes about a hello (1 s) to form, and
#: every poll costs the router an SSH exec and a vtysh, dozens at a time in a wave.
POLL_INTERVAL_S = 0.5
PARALLEL_PINGS = 8
#: How long the core waits for a ping's echo: FRR's ping (iputils) takes fractions of a
#: second, network OSes whole seconds. A short wait matters: a wave's probes share the
#: core's few channels, and an unanswered probe holds one for its whole wait.
PING_WAIT_S = {"frr": 0.2}
DEFAULT_PING_WAIT_S = 1
CHECKS = ("management", "ospf", "loopback", "snmp")
#: What each post-check reads: a getter of the state layer (``hatang.network.state``;
#: ``@core``: asked of the core router) or a source outside the device's driver.
NEEDS = {
    "management": ("TCP 22 from hatang's host",),
    "ospf": ("ospf_neighbors",),
    "loopback": ("ping@core",),
    "snmp": ("SNMP GET (system group)",),
}


@dataclass
class CheckOutcome:
    passed: dict[str, bool | None] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    _started: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return all(v is not False for v in self.passed.values())

    def record(self, name: str, ok: bool | None, reason: str = "") -> None:
        """Record check ``name`` (and the seconds since the previous one was recorded)."""
        now = time.monotonic()
        self.seconds[name] = round(now - self._started, 2)
        self._started = now
        self.passed[name] = ok
        if ok is False:
            self.reasons.append(f"{name}: {reason}")


def poll_until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Call ``predicate`` every :data:`POLL_INTERVAL_S` until it holds or ``timeout_s``
    passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if predicate():
                return True
        except Exception:  # a getter failing mid-change counts as "not yet"
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(POLL_INTERVAL_S, max(0.0, deadline - time.monotonic())))


def snmp_answers(inv: Inventory, name: str, snmp: DevicePoller | None = None) -> tuple[bool, str]:
    """SNMP GET of the system group through the monitoring room's poller (``snmp``, shared
    by the devices of a push, or a poller of its own)."""
    result = (snmp.poll if snmp else poll_device)(inv, name, "system", timeout=2.0, retries=2)
    return result.ok, result.error


def uplink_full(driver: NetworkDriver, platform: str, uplink: str) -> bool:
    """Whether the device has a Full OSPF adjacency on interface ``uplink``."""
    return any(n["interface"] == uplink and n["is_full"] for n in state_reader(driver, platform).ospf_neighbors())


class CoreProbe:
    """Pings from the IIC core, shared by every device of a push: one SSH connection,
    at most :data:`PARALLEL_PINGS` channels at once (sshd's MaxSessions is 10)."""

    def __init__(self, open_core: Callable[[], NetworkDriver], platform: str):
        self._open_core = open_core
        self._platform = platform
        self._wait_s = PING_WAIT_S.get(platform, DEFAULT_PING_WAIT_S)
        self._driver: NetworkDriver | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(PARALLEL_PINGS)

    def _core(self) -> NetworkDriver:
        """The open connection to the core, opened again if it dropped (a push outlives
        many things, a core's SSH session among them)."""
        with self._lock:
            if self._driver is not None and not self._driver.is_alive()["is_alive"]:
                self._driver.close()
                self._driver = None
            if self._driver is None:
                self._driver = self._open_core()
            return self._driver

    def reaches(self, address: str, source: str) -> bool:
        core = state_reader(self._core(), self._platform)
        with self._slots:
            return core.ping(address, source=source, count=1, timeout=self._wait_s)["received"] == 1

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None


def run_checks(inv: Inventory, name: str, driver: NetworkDriver, core: CoreProbe | None, *, timeout_s: float,
               skip: tuple[str, ...] = (), snmp: DevicePoller | None = None) -> CheckOutcome:
    """Management, OSPF on the uplink, loopback from the core, SNMP — in that order
    (those named in ``skip`` are recorded as not run)."""
    outcome = CheckOutcome()
    address = str(inv.mgmt(name).ip)
    if "management" in skip:
        outcome.record("management", None)
    else:
        outcome.record("management", tcp_open(address, 22, 3.0), f"{address}:22 does not answer")
    uplink = inv.uplink(name)
    if uplink is None or "ospf" in skip:
        outcome.record("ospf", None)
    else:
        platform = inv.platform(name).value
        outcome.record("ospf", poll_until(lambda: uplink_full(driver, platform, uplink.name), timeout_s), f"no Full adjacency on uplink {uplink.name} to {uplink.peer} within {timeout_s:g} s")
    core_device = next((d.name for d in inv.routers() if d.role.value == "core"), None)
    if core is None or core_device is None or core_device == name or "loopback" in skip:
        outcome.record("loopback", None)
    else:
        loopback, source = str(inv.loopback(name)), str(inv.loopback(core_device))
        outcome.record("loopback", poll_until(lambda: core.reaches(loopback, source), timeout_s), f"{loopback} unreachable from {core_device} within {timeout_s:g} s")
    if "snmp" in skip:
        outcome.record("snmp", None)
    else:
        ok, error = snmp_answers(inv, name, snmp)
        outcome.record("snmp", ok, error or "no answer")
    return outcome
