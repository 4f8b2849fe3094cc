"""Push rendered configurations to routers: a canary, then waves, each device committed
with a revert timer, checked, then confirmed — or rolled back by itself.

Per device: open → load candidate (the device syntax-checks it) → compare → commit with
``revert_in`` → post-checks → confirm, or roll back at once on a failed check. Every step
is bounded (:mod:`hatang.network.bounds`). If the session is lost after the commit, the
router's own timer restores the previous configuration; hatang verifies that in the
background once the timer has fired (:mod:`hatang.network.revert`) while the next waves
go on. A failing device never stops the others of its wave; a device whose management
path goes through a router that failed is not pushed; once more than ``max_failures``
devices failed (or the canary did), the remaining waves are skipped.

    from hatang.network.push import push
    report = push(inv, ["cpe-tich-son", …], wave_size=10, max_failures=0)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from napalm.base import NetworkDriver
from napalm.base.exceptions import (CommitConfirmException, CommitError, ConnectionException, MergeConfigException, NapalmException,
                                    ReplaceConfigException)

from hatang import audit
from hatang.errors import HatangError
from hatang.inventory import model as m
from hatang.inventory.inventory import Inventory
from hatang.monitoring.poller import DevicePoller
from hatang.network.bounds import CHECK_MARGIN_S, STEP_TIMEOUT_S, Watchdog, open_bounded
from hatang.network.checks import CheckOutcome, CoreProbe, run_checks
from hatang.network import preflight
from hatang.network.connect import one_login_driver_for
from hatang.network.drivers.frr import CommitInterrupted
from hatang.network.revert import LostSession, pending_commit, verify
from hatang.network.render import Renderer
from hatang.network.revert_time import revert_seconds, validate
from hatang.network.state import state_reader
from hatang.redact import redacted
from hatang.results import Result, Results, describe_exception, run_per_host

#: Device outcomes, in the summary's order.
STATUSES = ("committed", "unchanged", "would-change", "rolled-back", "reverted", "unverified", "lost", "failed", "skipped")
#: Sessions lost after a commit, verified at once (each mostly waits on a revert timer).
VERIFY_WORKERS = 16
LAYERS = (m.Role.core, m.Role.district, m.Role.commune_cpe)
COMMIT_MESSAGE = "hatang net push"
#: Between two asks of a router reached again after its session was lost mid-commit:
#: has it taken the commit (pending confirmation) yet?
REATTACH_POLL_S = 0.5
#: Platforms whose napalm driver keeps a commit comment; napalm's IOSDriver and
#: EOSDriver raise NotImplementedError for any message.
COMMENTED = frozenset({"frr", "junos"})


@dataclass
class DeviceResult(Result):
    """What a push did on one router: a :class:`hatang.results.Result` whose ``status``
    (one of :data:`STATUSES`) and post-``checks`` (check → passed, None when not run) are
    typed; the rest (``check_s``, ``lost``, ``final``, ``blocked_by``) stays in ``data``."""

    status: str = "failed"
    checks: dict[str, bool | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The Result's dict, the status and checks first in its ``data`` (the traceback,
        which the error already says, left out)."""
        data = {k: v for k, v in self.data.items() if k != "traceback"}
        return {**super().as_dict(), "data": {"status": self.status, "checks": self.checks, **data}}


@dataclass
class PushReport:
    """What a push did: one :class:`DeviceResult` per device, the waves as planned, and
    whether it stopped early."""

    waves: list[list[str]]
    results: Results[DeviceResult] = field(default_factory=Results)
    stopped_after_wave: int | None = None
    dry_run: bool = False
    secrets: list[str] = field(default_factory=list, repr=False)  # values to redact from as_dict()

    def status(self, device: str) -> str:
        return self.results[device].status

    @property
    def failed(self) -> list[str]:
        return [r.host for r in self.results.failed]

    @property
    def changed(self) -> list[str]:
        return [r.host for r in self.results.changed]

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped_after_wave is None

    def counts(self) -> dict[str, int]:
        counts = {s: 0 for s in STATUSES}
        for result in self.results:
            counts[result.status] += 1
        return {s: n for s, n in counts.items() if n}

    def as_dict(self) -> dict[str, Any]:
        """The report as data, every secret value (SNMP keys in a diff…) redacted: what
        the audit log and ``--json`` keep is what changed, never a credential."""
        return redacted({
            "ok": self.ok,
            "dry_run": self.dry_run,
            "waves": self.waves,
            "stopped_after_wave": self.stopped_after_wave,
            "counts": self.counts(),
            "devices": [r.as_dict() for r in self.results],
        }, self.secrets)


def plan_waves(inv: Inventory, devices: Sequence[str], wave_size: int) -> list[list[str]]:
    """The canary alone first, then waves of at most ``wave_size`` that never mix layers
    (core, districts, communes): a router's uplink peer is always done before it."""
    if wave_size < 1:
        raise ValueError("wave_size must be at least 1")
    routers = inv.routers()  # in each layer, the core carrying the management network first
    layer = {d.name: LAYERS.index(d.role) for d in routers}
    rank = {d.name: i for i, d in enumerate(routers)}
    ordered = sorted(dict.fromkeys(devices), key=lambda name: (layer[name], rank[name]))
    if not ordered:
        return []
    waves = [[ordered[0]]]
    for index in range(len(LAYERS)):
        rest = [name for name in ordered[1:] if layer[name] == index]
        waves.extend(rest[i : i + wave_size] for i in range(0, len(rest), wave_size))
    return waves


def load_and_compare(driver: NetworkDriver, config: str) -> str:
    """Load ``config`` as the replace candidate and return the device's diff."""
    driver.load_replace_candidate(config=config)
    return driver.compare_config().strip("\n")


def management_parent(inv: Inventory, name: str) -> str | None:
    """The router an in-band device's management goes through: its uplink peer."""
    uplink = inv.uplink(name) if inv.in_band(name) else None
    return uplink.peer if uplink is not None else None


@dataclass
class DevicePush:
    """The per-device task of a push. Every step is bounded (:mod:`hatang.network.bounds`):
    connecting (retried for ``path_wait_s`` while nothing answers), each step
    ``step_timeout_s``, the post-checks ``check_timeout_s`` + 30 s. A session lost during
    the commit is picked up again when the router took the commit (:meth:`_reattach`);
    one lost otherwise, or after the commit, is recorded in ``lost``, for
    :func:`hatang.network.revert.verify` once the router's own timer has fired."""

    inv: Inventory
    configs: dict[str, str]
    dry_run: bool
    revert_in: int
    check_timeout_s: float
    core: CoreProbe | None
    snmp: DevicePoller | None
    open_driver: Callable[[Inventory, str], NetworkDriver]
    skip_checks: tuple[str, ...] = ()
    preflight: bool = False
    step_timeout_s: float = STEP_TIMEOUT_S
    path_wait_s: float = 20.0
    lost: list[LostSession] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, name: str) -> DeviceResult:
        result = DeviceResult(host=name)
        try:
            driver, watchdog = open_bounded(self.open_driver, self.inv, name, path_wait_s=self.path_wait_s, step_s=self.step_timeout_s)
        except ConnectionException as exc:
            result.ok, result.error = False, str(exc)
            return result
        try:
            self._push(driver, watchdog, name, result)
        except (ReplaceConfigException, MergeConfigException) as exc:
            result.ok, result.error = False, f"not applied: {exc}"
        except CommitError as exc:
            result.ok, result.error = False, str(exc)
        except ConnectionException as exc:  # before the commit: nothing changed on the router
            result.ok, result.error = False, f"session lost before the commit, the router is unchanged: {exc}"
        finally:
            _quietly(driver.close)
        return result

    def _push(self, driver: NetworkDriver, watchdog: Watchdog, name: str, result: DeviceResult) -> None:
        step = self.step_timeout_s
        platform = self.inv.platform(name).value
        if self.preflight:
            with watchdog.step("preflight", step):
                problems = preflight.describe(preflight.check(self.inv, name, driver, self.configs[name]))
            if problems:
                result.ok, result.error = False, f"stopped before any change, preflight: {problems}"
                return
        revert_in = revert_seconds(platform, self.revert_in)
        with watchdog.step("load", step):
            diff = load_and_compare(driver, self.configs[name])
        result.diff = diff
        if not diff or self.dry_run:
            driver.discard_config()
            result.status = "would-change" if diff else "unchanged"
            return
        try:  # what the router must be back on if the session is lost after the commit
            with watchdog.step("save previous", step):
                previous = state_reader(driver, platform).running_config()
        except ConnectionException:
            raise
        except Exception:  # a driver without this getter: a revert cannot be verified then
            previous = None
        committed_at = time.monotonic()
        try:
            with watchdog.step("commit", step):
                driver.commit_config(message=COMMIT_MESSAGE if platform in COMMENTED else "", revert_in=revert_in)
        except (CommitInterrupted, ConnectionException) as exc:  # it commits all or nothing, then reverts by itself
            resumed = self._reattach(name)
            if resumed is None:
                return self._lost(name, result, committed_at, previous, revert_in, f"during the commit: {exc}")
            result.data["resumed"] = f"session lost during the commit ({exc}); found committed and pending on a new session"
            try:
                return self._check_and_confirm(*resumed, name, result, committed_at, previous, revert_in)
            finally:
                _quietly(resumed[0].close)
        except Exception as exc:
            _quietly(driver.discard_config)  # a refused commit leaves no candidate session behind
            if isinstance(exc, NapalmException | NotImplementedError):
                raise
            raise CommitError(f"session lost during the commit ({describe_exception(exc)}): if {name} took it, it reverts by itself within {revert_in} s") from exc
        self._check_and_confirm(driver, watchdog, name, result, committed_at, previous, revert_in)

    def _reattach(self, name: str) -> tuple[NetworkDriver, Watchdog] | None:
        """A new session to ``name`` after its session was lost during the commit — a
        commit that outlived its step, or an in-band path re-converging under it — when
        the router took the commit: pending confirmation, on the new configuration (its
        commit may still be running: polled for one step). None otherwise: unreachable,
        or it did not take it; its own timer is then the safety net."""
        try:
            driver, watchdog = open_bounded(self.open_driver, self.inv, name, path_wait_s=self.path_wait_s, step_s=self.step_timeout_s)
        except ConnectionException:
            return None
        try:
            with watchdog.step("reattach", self.step_timeout_s):
                deadline = time.monotonic() + self.step_timeout_s / 2
                while not (pending := pending_commit(driver)) and time.monotonic() < deadline:
                    time.sleep(REATTACH_POLL_S)
                taken = pending and not state_reader(driver, self.inv.platform(name).value).config_diff(self.configs[name])
        except Exception:  # whatever it is, the lost session's verification deals with it
            taken = False
        if not taken:
            _quietly(driver.close)
            return None
        return driver, watchdog

    def _check_and_confirm(self, driver: NetworkDriver, watchdog: Watchdog, name: str, result: DeviceResult, committed_at: float,
                           previous: str | None, revert_in: int) -> None:
        """After the commit: the post-checks, then confirm — or roll back at once."""
        step = self.step_timeout_s
        result.changed = True
        try:
            with watchdog.step("checks", self.check_timeout_s + CHECK_MARGIN_S):
                outcome = run_checks(self.inv, name, driver, self.core, timeout_s=self.check_timeout_s, skip=self.skip_checks, snmp=self.snmp)
        except Exception as exc:  # a check that cannot run is a failed check
            outcome = CheckOutcome()
            outcome.record("checks", False, describe_exception(exc))
        result.checks = outcome.passed
        result.data["check_s"] = outcome.seconds
        if outcome.ok:
            try:
                with watchdog.step("confirm", step):
                    driver.confirm_commit()
            except ConnectionException as exc:
                return self._lost(name, result, committed_at, previous, revert_in, f"at the confirm: {exc}")
            except CommitConfirmException as exc:  # nothing pending: its timer fired (the checks ran late, or on the reverted configuration)
                return self._lost(name, result, committed_at, previous, revert_in, f"no commit left to confirm: {exc}")
            result.status = "committed"
            return
        result.ok = False
        try:
            with watchdog.step("rollback", step):
                driver.rollback()
        except Exception as exc:  # unreachable (the change cut its path?): the router's own timer reverts it
            return self._lost(name, result, committed_at, previous, revert_in, f"post-checks failed ({'; '.join(outcome.reasons)}); rollback impossible ({describe_exception(exc)})")
        result.status = "rolled-back"
        result.error = f"post-checks failed, rolled back to the previous configuration: {'; '.join(outcome.reasons)}"

    def _lost(self, name: str, result: DeviceResult, committed_at: float, previous: str | None, revert_in: int, reason: str) -> None:
        result.ok = False
        result.status, result.data["lost"] = "lost", reason
        result.error = f"session lost after the commit ({reason}); the router reverts by itself after {revert_in} s: verifying then"
        with self._lock:
            self.lost.append(LostSession(name, committed_at, revert_in, previous, self.configs[name], reason))


def push(
    inv: Inventory,
    devices: Sequence[str],
    *,
    wave_size: int = 10,
    max_failures: int = 0,
    dry_run: bool = False,
    revert_in: int = 120,
    check_timeout_s: float = 20.0,
    configs: dict[str, str] | None = None,
    open_driver: Callable[[Inventory, str], NetworkDriver] = one_login_driver_for,
    skip_checks: tuple[str, ...] = (),
    show_progress: bool = True,
    record: bool = True,
    run_preflight: bool | None = None,
    step_timeout_s: float = STEP_TIMEOUT_S,
) -> PushReport:
    """Push ``devices`` (rendered from ``inv`` unless ``configs`` gives the text) and
    return a :class:`PushReport`. Real pushes are appended to the ``push`` audit log.
    ``open_driver(inv, name)`` returns an unopened napalm driver; ``skip_checks`` names
    post-checks not to run (see :data:`hatang.network.checks.CHECKS`). ``revert_in``
    is checked against every device's platform first (:mod:`hatang.network.revert_time`);
    ``run_preflight`` (default: outside the lab) stops a device that fails
    :mod:`hatang.network.preflight` before its first change; ``step_timeout_s`` bounds
    each step but the checks (:func:`hatang.network.bounds.push_bound_s` gives the whole
    push's bound)."""
    if not dry_run:
        validate((inv.platform(name).value for name in devices), revert_in, check_timeout_s)
    configs = dict(configs or {})
    renderer = Renderer(inv)
    for name in devices:
        if name not in configs:
            configs[name] = renderer.render(name).text
    report = PushReport(waves=plan_waves(inv, devices, wave_size), dry_run=dry_run)
    core_name = next((d.name for d in inv.routers() if d.role == m.Role.core), None)
    core = None
    if not (dry_run or core_name is None or "loopback" in skip_checks):
        core = CoreProbe(lambda: _opened(open_driver(inv, core_name)), inv.platform(core_name).value)
    snmp = None if dry_run or "snmp" in skip_checks else DevicePoller()
    preflight_on = inv.env != "lab" if run_preflight is None else run_preflight
    task = DevicePush(inv, configs, dry_run, revert_in, check_timeout_s, core, snmp, open_driver, tuple(skip_checks),
                      preflight=preflight_on and not dry_run, step_timeout_s=step_timeout_s, path_wait_s=check_timeout_s)
    verifier = ThreadPoolExecutor(max_workers=VERIFY_WORKERS, thread_name_prefix="revert-verify")
    verifying: dict[str, Future] = {}
    try:
        for number, wave in enumerate(report.waves, start=1):
            label = f"wave {number}/{len(report.waves)}" + (" (canary)" if number == 1 else "")
            blocked = _blocked_by_parent(inv, wave, report)
            report.results.update(blocked.values())
            todo = [name for name in wave if name not in blocked]
            report.results.update(run_per_host(todo, task, max_workers=wave_size, label=label, show_progress=show_progress, result_type=DeviceResult))
            while task.lost:  # verified in the background: the next waves do not wait for a revert timer
                lost = task.lost.pop()
                verifying[lost.device] = verifier.submit(verify, inv, lost, open_driver)
            failures = len(report.failed)
            if failures and (number == 1 or failures > max_failures) and number < len(report.waves):
                report.stopped_after_wave = number
                for name in (n for w in report.waves[number:] for n in w):
                    report.results.add(DeviceResult(host=name, ok=False, status="skipped", error=f"skipped: {failures} device(s) failed (canary or more than --max-failures {max_failures})"))
                break
        for name, future in verifying.items():
            verdict = future.result()
            result = report.results[name]
            result.status, result.data["final"] = verdict.status, verdict.final
            result.error = f"session lost after the commit ({result.data.get('lost', '')}); {verdict.detail}"
    finally:
        verifier.shutdown(wait=True)
        for probe in (core, snmp):
            if probe is not None:
                probe.close()
    report.secrets = renderer.builder.resolve.values()
    if record and not dry_run:
        audit.append("push", {"environment": inv.env, **report.as_dict()}, secrets=report.secrets)  # "devices": one dict per router
    return report


def _quietly(action: Callable[[], object]) -> None:
    """Clean-up on a session that may be dead (after a lost connection napalm's
    IOSDriver still sends ``no file prompt quiet`` on close): its failure must not
    replace what the push did, which the result already says."""
    try:
        action()
    except Exception:
        pass


def _blocked_by_parent(inv: Inventory, wave: list[str], report: PushReport) -> dict[str, DeviceResult]:
    """The devices of ``wave`` whose management path goes through a router that failed
    in this push: they are not pushed, and their Result says why."""
    blocked = {}
    for name in wave:
        parent = management_parent(inv, name)
        if parent in report.results and not report.results[parent].ok:
            why = f"{parent} {report.status(parent)}"
            blocked[name] = DeviceResult(host=name, ok=False, status="skipped", data={"blocked_by": parent},
                                   error=f"skipped: its management path goes through {parent}, which failed in this push ({why})")
    return blocked


def _opened(driver: NetworkDriver) -> NetworkDriver:
    driver.open()
    return driver


def push_lab(ctx, *, wave_size: int = 20) -> PushReport:
    """``hatang lab up --configured``: push every router of the lab ``ctx`` (a
    :class:`hatang.lab.context.LabContext`); raises if any router failed."""
    report = push(ctx.inventory, ctx.device_names, wave_size=wave_size, max_failures=0)
    if not report.ok:
        details = [f"{name}: {report.results[name].error}" for name in report.failed]
        raise HatangError(f"the lab push failed on {len(report.failed)} router(s)", details=details)
    return report
