"""After a session lost past a commit: wait out the router's revert timer, then see where
the router ended.

An in-band router whose change cut its own uplink, or that froze before the confirm,
cannot be told to roll back: its own timer is the safety net. hatang waits until the
timer must have fired (commit time + ``revert_in`` + a margin), connects again — for a
bounded time — and compares the running configuration with the one it had before the
commit, through the state layer's ``config_diff`` (as ``net drift`` does): back on it (verified), on the new one (the confirm had reached it), or neither
or unreachable (not verified: a person must look). A router still holding the commit
pending confirmation took it after the session was lost, so its timer runs late: it gets
one more revert time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from napalm.base import NetworkDriver

from hatang.inventory.inventory import Inventory
from hatang.network.bounds import STEP_TIMEOUT_S, open_bounded
from hatang.network.state import StateReader, state_reader
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


def standing(reader: StateReader, previous: str | None, new: str | None) -> str:
    """Which configuration the router runs: ``previous``, ``new`` or ``mixed`` (neither),
    by the state layer's ``config_diff`` (the router's own diff engine, as drift and diff
    read it)."""
    if previous is not None and not reader.config_diff(previous):
        return "previous"
    if new is not None and not reader.config_diff(new):
        return "new"
    return "mixed"


def verify(inv: Inventory, lost: LostSession, open_driver: Callable[[Inventory, str], NetworkDriver],
           sleep: Callable[[float], None] = time.sleep) -> Verdict:
    """Wait for the revert timer, reconnect and compare (see the module's docstring).
    A router still holding a commit pending confirmation finished that commit after the
    session was lost (a slow commit outlives its step's bound), so its timer started
    late: it gets one more revert time before it is compared."""
    sleep(max(0.0, lost.committed_at + lost.revert_in + REVERT_MARGIN_S - time.monotonic()))
    try:
        pending, final = _look(inv, lost, open_driver)
        if pending:
            sleep(lost.revert_in + REVERT_MARGIN_S)
            pending, final = _look(inv, lost, open_driver)
    except Exception as exc:
        return Verdict("unverified", "unknown", f"could not be verified after the revert timer ({describe_exception(exc)}): "
                       f"its own timer reverts it by itself within {lost.revert_in} s of the commit unless the confirm had reached it; look at it")
    if final == "previous":
        return Verdict("reverted", "previous", "back on its previous configuration (verified after the revert timer)")
    if pending:
        return Verdict("unverified", final, f"a commit is still pending confirmation twice its revert time ({lost.revert_in} s) after it was sent: its timer did not fire; look at it")
    if final == "new":
        return Verdict("unverified", "new", "on the NEW configuration, unchecked: the confirm reached it before the session was lost")
    return Verdict("unverified", "mixed", "on neither its previous nor its new configuration: look at it")


def _look(inv: Inventory, lost: LostSession, open_driver: Callable[[Inventory, str], NetworkDriver]) -> tuple[bool, str]:
    """(a commit still pending confirmation, the configuration it stands on), over a
    new session."""
    driver, watchdog = open_bounded(open_driver, inv, lost.device, path_wait_s=RECONNECT_S)
    try:
        with watchdog.step("compare", STEP_TIMEOUT_S):
            return pending_commit(driver), standing(state_reader(driver, inv.platform(lost.device).value), lost.previous, lost.candidate)
    finally:
        driver.close()


def pending_commit(driver: NetworkDriver) -> bool:
    """Whether ``driver``'s router holds a commit pending confirmation (False when the
    driver cannot tell)."""
    try:
        return bool(driver.has_pending_commit())
    except NotImplementedError:
        return False
