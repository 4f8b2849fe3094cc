"""The fault corpus: each fault of a push that reality serves, played on a configured lab.

Every case pushes a small change through :func:`hatang.network.push.push` while one
fault strikes at its moment (a driver hook fires it between two driver calls), then
repairs the fault and reads where the routers ended. A case gives one :class:`FaultRun`:
how long the push took to report, the bound it had, each touched router's final
configuration (its previous or its new one, or a mix) and whether it answers again.
``tests/network/test_fault_corpus.py`` asserts on them; ``bench/faults.py`` writes them
as the table of ``docs/reliability.md``. Short timers keep the corpus quick: revert in
8 s, checks 6 s, steps 10 s.
"""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from napalm.base import NetworkDriver

from hatang.credentials import secret
from hatang.inventory.inventory import Inventory
from hatang.lab import faults
from hatang.lab.context import LabContext
from hatang.network.bounds import push_bound_s
from hatang.network.connect import LAB_ADMIN_CREDENTIAL, connected, driver_args, driver_class, one_login_driver_for
from hatang.network.drivers.frr import agent_workdir
from hatang.network.push import PushReport, push
from hatang.network.render import Renderer
from hatang.network.revert import standing
from hatang.network.state import state_reader
from hatang.probe import tcp_open
from hatang.results import map_per_host

REVERT_IN = 8
CHECK_TIMEOUT_S = 6.0
STEP_TIMEOUT_S = 10.0
#: After the fault is repaired: how long a router may take to settle (its revert timer,
#: OSPF coming back) before its final state is read.
SETTLE_S = 30.0
COMMUNES = ("cpe-hoi-hop", "cpe-lien-bao", "cpe-tich-son")
DISTRICT = "dr-vinh-yen"
CORE = "core-iic"


@dataclass
class FaultRun:
    fault: str
    report_s: float  # from the push's start to its report
    bound_s: float  # what the push promised
    statuses: dict[str, str]  # per device, as the push reported it
    final: dict[str, str]  # per device: previous, new or mixed
    reachable: dict[str, bool]  # per device, once the fault was repaired
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def stranded(self) -> list[str]:
        """Routers left unreachable or on a mix of configurations."""
        return [d for d in self.final if self.final[d] == "mixed" or not self.reachable[d]]

    def row(self) -> list[Any]:
        finals = ", ".join(f"{d}: {f}" for d, f in self.final.items())
        reach = "yes" if all(self.reachable.values()) else "NO: " + ", ".join(d for d, ok in self.reachable.items() if not ok)
        statuses = ", ".join(f"{d}: {s}" for d, s in self.statuses.items())
        return [self.fault, f"{self.report_s:.1f} s (bound {self.bound_s:.0f} s)", statuses, finals, reach]


class HookedDriver:
    """A napalm driver whose calls can run a hook just before or after them."""

    def __init__(self, driver: NetworkDriver, before: dict[str, Callable[[], None]], after: dict[str, Callable[[], None]]):
        self._driver, self._before, self._after = driver, before, after

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._driver, name)
        if not callable(attr) or (name not in self._before and name not in self._after):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if (hook := self._before.pop(name, None)) is not None:
                hook()
            value = attr(*args, **kwargs)
            if (hook := self._after.pop(name, None)) is not None:
                hook()
            return value

        return call


def hooked(device: str, *, before: dict | None = None, after: dict | None = None) -> Callable[[Inventory, str], NetworkDriver]:
    """An ``open_driver`` whose driver for ``device`` (its first one) carries hooks."""
    pending = {"before": dict(before or {}), "after": dict(after or {})}

    def open_driver(inv: Inventory, name: str) -> NetworkDriver:
        driver = one_login_driver_for(inv, name)
        if name != device or not (pending["before"] or pending["after"]):
            return driver
        hooks, pending["before"], pending["after"] = (pending["before"], pending["after"]), {}, {}
        return HookedDriver(driver, *hooks)  # type: ignore[return-value]

    return open_driver


def changed(inv: Inventory, name: str, tag: str) -> str:
    """``name``'s intended configuration with its LAN described differently: a change that
    touches nothing the management path needs."""
    text = Renderer(inv).render(name).text
    lan = next(p for p in inv.ports(name) if p.kind == "lan")
    old = next(line for line in text.splitlines() if line.startswith(" description ") and str(lan.address.network) in line)
    return text.replace(old, f" description LAN {tag}", 1)


def uplink_cut(inv: Inventory, name: str) -> str:
    """``name``'s configuration with its uplink shut down: the change cuts its own path at
    once. (A renumbered uplink cut it only once OSPF and ARP had timed out, so a quick
    enough post-check could still reach the router and roll it back itself: a different
    case, not the one where only the router's own revert timer can save it.)"""
    uplink = inv.uplink(name)
    address = f" ip address {uplink.address}"
    return Renderer(inv).render(name).text.replace(address, f"{address}\n shutdown")


def final_state(inv: Inventory, name: str, previous: str, new: str | None) -> tuple[str, bool]:
    """(previous | new | mixed, reachable) of ``name``, waiting up to :data:`SETTLE_S` for
    it to answer and leave any pending commit (its revert timer)."""
    deadline = time.monotonic() + SETTLE_S
    state, reachable = "mixed", False
    while time.monotonic() < deadline:
        if not tcp_open(str(inv.mgmt(name).ip), 22, 2.0):
            time.sleep(0.5)
            continue
        reachable = True
        try:
            with connected(inv, name, timeout=10, one_login=True) as driver:
                if driver.has_pending_commit():
                    time.sleep(0.5)
                    continue
                return standing(state_reader(driver, inv.platform(name).value), previous, new), reachable
        except Exception:
            time.sleep(0.5)
    return state, reachable


def run_case(ctx: LabContext, fault: str, configs: dict[str, str], *, open_driver=one_login_driver_for,
             repair: Callable[[], None] = lambda: None, concurrent: int = 1) -> FaultRun:
    """Push ``configs`` (``concurrent`` pushes at once), repair, read the final states."""
    inv = ctx.inventory
    previous = {name: Renderer(inv).render(name).text for name in configs}
    started = time.monotonic()

    def one(_: int) -> PushReport:
        return push(inv, list(configs), configs=configs, revert_in=REVERT_IN, check_timeout_s=CHECK_TIMEOUT_S,
                    step_timeout_s=STEP_TIMEOUT_S, max_failures=len(configs), wave_size=10, open_driver=open_driver,
                    show_progress=False, record=False)

    # the pushes start together (one worker each); one that raises fails the case, naming it
    reports = list(map_per_host(range(concurrent), one, name_of=lambda i: f"push {i + 1}", max_workers=concurrent, what=f"{fault}: concurrent pushes").values())
    report_s = time.monotonic() - started
    repair()
    waves = max(len(r.waves) for r in reports)
    run = FaultRun(fault, report_s, push_bound_s(CHECK_TIMEOUT_S, REVERT_IN, STEP_TIMEOUT_S, waves=waves), {}, {}, {})
    for name, new in configs.items():
        mine = [r for r in reports if name in r.results]
        run.statuses[name] = "/".join(r.status(name) + (" (resumed)" if r.results[name].data.get("resumed") else "") for r in mine)
        run.errors[name] = " | ".join(r.results[name].error for r in mine if r.results[name].error)
        run.final[name], run.reachable[name] = final_state(inv, name, previous[name], new)
    return run


# --- the cases -------------------------------------------------------------------------


def uplink_breaking_change(ctx: LabContext) -> FaultRun:
    victim = COMMUNES[0]
    return run_case(ctx, "a change that cuts its own uplink, on an in-band commune", {victim: uplink_cut(ctx.inventory, victim)})


def frozen_after_commit(ctx: LabContext) -> FaultRun:
    victim = COMMUNES[1]
    return run_case(ctx, "router frozen after the commit, before the confirm", {victim: changed(ctx.inventory, victim, "frozen")},
                    open_driver=hooked(victim, after={"commit_config": lambda: faults.freeze(ctx, victim)}),
                    repair=lambda: faults.restore(ctx, victim))


def killed_during_commit(ctx: LabContext) -> FaultRun:
    victim = COMMUNES[2]
    strike = lambda: threading.Timer(0.05, faults.kill, args=(ctx, victim)).start()  # noqa: E731
    return run_case(ctx, "router killed during the commit", {victim: changed(ctx.inventory, victim, "killed")},
                    open_driver=hooked(victim, before={"commit_config": strike}), repair=lambda: faults.restore(ctx, victim))


def dropped_before_commit(ctx: LabContext) -> FaultRun:
    victim = COMMUNES[0]
    box: dict[str, NetworkDriver] = {}

    def open_driver(inv: Inventory, name: str) -> NetworkDriver:
        driver = hooked(victim, after={"load_replace_candidate": lambda: box["driver"].abort()})(inv, name)
        box["driver"] = driver
        return driver

    return run_case(ctx, "session dropped between prepare and commit", {victim: changed(ctx.inventory, victim, "dropped")}, open_driver=open_driver)


def slow_commit(ctx: LabContext) -> FaultRun:
    """A commit that outlives its step's bound: the router's agent waits on its apply lock
    (held here, as a concurrent apply would) past the step, so the push drops the session
    mid-commit; the router then takes it, and the push finds it pending on a new session."""
    victim = COMMUNES[2]
    admin = secret(LAB_ADMIN_CREDENTIAL, "username", env=ctx.inventory.env)
    lock_file = ctx.path("home") / admin / agent_workdir(victim) / "lock"

    def hold_lock() -> None:
        held = threading.Event()

        def hold() -> None:
            with open(lock_file, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                held.set()
                time.sleep(STEP_TIMEOUT_S + 1)  # past the commit step's bound
        threading.Thread(target=hold, daemon=True).start()
        held.wait(5)

    return run_case(ctx, "a commit slower than its step (the session dropped, the router taking it)",
                    {victim: changed(ctx.inventory, victim, "slow")}, open_driver=hooked(victim, before={"commit_config": hold_lock}))


def _opener(**optional: str) -> Callable[[Inventory, str], NetworkDriver]:
    """An ``open_driver`` whose drivers get these optional_args over the usual ones."""
    def open_driver(inv: Inventory, name: str) -> NetworkDriver:
        driver_name, kwargs = driver_args(inv, name, one_login=True)
        kwargs["optional_args"] = {**kwargs["optional_args"], **optional}
        return driver_class(driver_name)(**kwargs)

    return open_driver


def wrong_credentials(ctx: LabContext) -> FaultRun:
    victim = COMMUNES[1]
    return run_case(ctx, "wrong credentials", {victim: changed(ctx.inventory, victim, "credentials")},
                    open_driver=_opener(admin_password="not-the-password"))


def changed_host_key(ctx: LabContext) -> FaultRun:
    """The victim's address known with another router's key (what a swapped or spoofed
    router would show)."""
    victim, other = COMMUNES[2], COMMUNES[0]
    known = ctx.path("faultcorpus") / "known_hosts"
    recorded = Path(driver_args(ctx.inventory, victim)[1]["optional_args"]["known_hosts"]).read_text().splitlines()
    host, impostor = str(ctx.inventory.mgmt(victim).ip), str(ctx.inventory.mgmt(other).ip)
    known.write_text("".join(line.replace(impostor, host, 1) + "\n" for line in recorded if line.startswith(f"{impostor} ")))
    return run_case(ctx, "a changed host key", {victim: changed(ctx.inventory, victim, "host-key")}, open_driver=_opener(known_hosts=str(known)))


def concurrent_pushes(ctx: LabContext) -> FaultRun:
    victim = COMMUNES[0]
    return run_case(ctx, "two concurrent pushes to one router", {victim: changed(ctx.inventory, victim, "concurrent")}, concurrent=2)


def district_uplink_lost(ctx: LabContext) -> FaultRun:
    inv = ctx.inventory
    configs = {DISTRICT: changed(inv, DISTRICT, "district"), **{c: changed(inv, c, "behind") for c in COMMUNES}}
    cut = lambda: faults.link_down(ctx, CORE, DISTRICT)  # noqa: E731
    return run_case(ctx, "district uplink lost while its communes wait in the next wave", configs,
                    open_driver=hooked(DISTRICT, after={"confirm_commit": cut}), repair=lambda: faults.link_up(ctx, CORE, DISTRICT))


def frozen_before_push(ctx: LabContext) -> FaultRun:
    victim = COMMUNES[1]
    faults.freeze(ctx, victim)
    configs = {c: changed(ctx.inventory, c, "all") for c in COMMUNES}
    return run_case(ctx, "one commune frozen before a push of all three", configs, repair=lambda: faults.restore(ctx, victim))


CASES: tuple[Callable[[LabContext], FaultRun], ...] = (
    uplink_breaking_change, frozen_after_commit, killed_during_commit, dropped_before_commit,
    wrong_credentials, changed_host_key, concurrent_pushes, district_uplink_lost, frozen_before_push, slow_commit,
)


def back_to_intent(ctx: LabContext) -> None:
    """Every router of the lab back on its intended configuration (after a case)."""
    report = push(ctx.inventory, ctx.device_names, show_progress=False, record=False, wave_size=len(ctx.device_names))
    if not report.ok:
        raise RuntimeError(f"the lab did not return to intent: {report.as_dict()['counts']} {[report.results[d].error for d in report.failed]}")

