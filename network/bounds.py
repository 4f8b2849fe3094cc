"""Every step of a push has a bound, whatever the router does.

A router that goes silent mid-session (frozen, or its only path cut by the change being
pushed) sends no reset: a TCP peer just stops answering, and a wait on it lasts as long
as the waiter allows — paramiko's channel waits default to an hour. The driver's own
waits have timeouts; a :class:`Watchdog` is the bound above them: when a step outlives
its time it drops the driver's connection from another thread, so whatever the step
waits on fails at once and the push moves on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from napalm.base import NetworkDriver
from napalm.base.exceptions import ConnectionClosedException

from hatang.inventory.inventory import Inventory
from hatang.network.drivers.ssh import Unreachable

#: A step of a push other than the post-checks (connect, load, commit, confirm, rollback).
STEP_TIMEOUT_S = 30.0
#: Added to the check timeout to bound the check phase (its last poll, SNMP's retries).
CHECK_MARGIN_S = 30.0
#: Between two attempts to reach a router whose management path is still converging.
PATH_POLL_S = 0.5
#: Opening one SSH login, at worst: TCP connect, banner, authentication, each bounded by
#: the driver's SSH timeout (15 s). A frozen router costs one of them: its kernel still
#: completes the handshake and then no banner comes.
SSH_OPEN_S = 45.0


class StepTimeout(ConnectionClosedException):
    """A step of a push outlived its bound; the router's connection was dropped."""


def abort(driver: NetworkDriver) -> None:
    """Drop ``driver``'s connection from any thread (napalm drivers without ``abort``
    are closed instead)."""
    try:
        (getattr(driver, "abort", None) or driver.close)()
    except Exception:  # an abort is best effort: the step fails by itself all the same
        pass


class Watchdog:
    """Bounds the steps of one device's push (see the module's docstring)."""

    def __init__(self, driver: NetworkDriver, device: str):
        self.driver, self.device = driver, device
        self.fired: str | None = None

    @contextmanager
    def step(self, name: str, seconds: float) -> Iterator[None]:
        """Run the ``with`` body as step ``name``: dropped after ``seconds``, and then
        reported as :class:`StepTimeout` whatever error the drop caused inside."""
        timer = threading.Timer(seconds, self._fire, args=(f"{name}: no answer within {seconds:g} s",))
        timer.daemon = True
        timer.start()
        try:
            yield
        except Exception:
            if self.fired:
                raise StepTimeout(f"{self.device}: {self.fired}") from None
            raise
        finally:
            timer.cancel()
        if self.fired:
            raise StepTimeout(f"{self.device}: {self.fired}")

    def _fire(self, reason: str) -> None:
        self.fired = reason
        abort(self.driver)


def open_bounded(open_driver: Callable[[Inventory, str], NetworkDriver], inv: Inventory, name: str, *,
                 path_wait_s: float, step_s: float = STEP_TIMEOUT_S) -> tuple[NetworkDriver, Watchdog]:
    """An opened driver for ``name`` and its watchdog. While nothing answers at all
    (:class:`~hatang.network.drivers.ssh.Unreachable`) it tries again for up to
    ``path_wait_s``: an in-band router answers only once the routers on its way have
    converged (its district, pushed in the wave before). Each attempt is one bounded step."""
    deadline = time.monotonic() + path_wait_s
    while True:
        driver = open_driver(inv, name)
        watchdog = Watchdog(driver, name)
        try:
            try:
                with watchdog.step("connect", step_s):
                    driver.open()
            except StepTimeout:  # not even an SSH banner within the step's bound
                raise Unreachable(f"{name}: unreachable (no SSH answer within {step_s:g} s)") from None
            return driver, watchdog
        except Unreachable:
            driver.close()
            if time.monotonic() + PATH_POLL_S >= deadline:
                raise
            time.sleep(PATH_POLL_S)


def push_bound_s(check_timeout_s: float, revert_in: float, step_s: float = STEP_TIMEOUT_S, *, waves: int = 1) -> float:
    """The time a push of ``waves`` waves may take at worst, every device of every wave
    silent at its slowest step: per wave the management path's wait (the check timeout),
    the login, load, save, commit, a second login and path wait to find a commit whose
    session was lost, checks and confirm or rollback; then one verification of a session
    lost after its commit (in the background, but the push waits for it), twice when the
    router finished that commit late (its timer started late)."""
    from hatang.network.revert import RECONNECT_S, REVERT_MARGIN_S

    login = check_timeout_s + SSH_OPEN_S
    wave = 2 * login + 5 * step_s + check_timeout_s + CHECK_MARGIN_S
    return waves * wave + 2 * (revert_in + REVERT_MARGIN_S + RECONNECT_S + SSH_OPEN_S + step_s)
