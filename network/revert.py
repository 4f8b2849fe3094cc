"""After a session lost past a commit: wait out the router's revert timer, then see where
the router ended.

An in-band router whose change cut its own uplink, or that froze before the confirm,
cannot be told to roll back: its own timer is the safety net. hatang waits until the
timer must have fired (commit time + ``revert_in`` + a margin), connects again — for a
bounded time — and compares the running configuration with the one it had before the
commit: back on it (verified), on the new one (the confirm had reached it), or neither
or unreachable (not verified: a person must look).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from napalm.base import NetworkDriver

from hatang.inventory.inventory import Inventory
from hatang.network.bounds import STEP_TIMEOUT_S, open_bounded
from hatang.results import describe_exception

#: After the revert time: the timer's own restore (a reload) and the routing around it.
REVERT_MARGIN_S = 5.0
#: How long to keep trying to reach the router again once the timer has fired: OSPF
#: takes a hello or two to come back on a restored uplink.
RECONNECT_S = 20.0


@dataclass
class LostSession:
    """A device whose session was lost after its commit."""

    device: str
    committed_at: float  # time.monotonic() of the commit
    revert_in: int
    previous: str | None  # the running configuration before the commit
    candidate: str
    reason: str


@dataclass
class Verdict:
    status: str  # "reverted" (verified on the previous configuration) or "unverified"
    final: str  # "previous", "new", "mixed" or "unknown"
    detail: str


def differs(driver: NetworkDriver, config: str) -> str:
    """What the router's running configuration lacks or has beyond ``config`` (empty: it
    runs exactly ``config``), by the driver's own comparison."""
    driver.load_replace_candidate(config=config)
    try:
        return driver.compare_config().strip("\n")
    finally:
        driver.discard_config()


def verify(inv: Inventory, lost: LostSession, open_driver: Callable[[Inventory, str], NetworkDriver],
           sleep: Callable[[float], None] = time.sleep) -> Verdict:
    """Wait for the revert timer, reconnect and compare (see the module's docstring)."""
    sleep(max(0.0, lost.committed_at + lost.revert_in + REVERT_MARGIN_S - time.monotonic()))
    try:
        driver, watchdog = open_bounded(open_driver, inv, lost.device, path_wait_s=RECONNECT_S)
        try:
            with watchdog.step("compare", STEP_TIMEOUT_S):
                if lost.previous is not None and not differs(driver, lost.previous):
                    return Verdict("reverted", "previous", "back on its previous configuration (verified after the revert timer)")
                if not differs(driver, lost.candidate):
                    return Verdict("unverified", "new", "on the NEW configuration, unchecked: the confirm reached it before the session was lost")
        finally:
            driver.close()
    except Exception as exc:
        return Verdict("unverified", "unknown", f"could not be verified after the revert timer ({describe_exception(exc)}): "
                       f"its own timer reverts it by itself within {lost.revert_in} s of the commit unless the confirm had reached it; look at it")
    return Verdict("unverified", "mixed", "on neither its previous nor its new configuration: look at it")
