"""Push rendered configurations to routers: a canary, then waves, each device committed
with a revert timer, checked, then confirmed — or rolled back by itself.

Per device: open → load candidate (the device syntax-checks it) → compare → commit with
``revert_in`` → post-checks → confirm, or roll back at once on a failed check. If the
connection drops after the commit, the router's own timer restores the previous
configuration. A failing device never stops the others of its wave; once more than
``max_failures`` devices failed (or the canary did), the remaining waves are skipped.

    from hatang.network.push import push
    report = push(inv, ["cpe-tich-son", …], wave_size=10, max_failures=0)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from napalm.base import NetworkDriver
from napalm.base.exceptions import CommitError, ConnectionException, MergeConfigException, NapalmException, ReplaceConfigException

from hatang import audit
from hatang.console import to_json
from hatang.errors import HatangError
from hatang.inventory import model as m
from hatang.inventory.inventory import Inventory
from hatang.monitoring.poller import DevicePoller
from hatang.network.checks import CheckOutcome, CoreProbe, run_checks
from hatang.network import preflight
from hatang.network.connect import one_login_driver_for
from hatang.network.render import Renderer
from hatang.network.revert_time import revert_seconds, validate
from hatang.results import Result, describe_exception, run_per_host

#: Device outcomes, in the summary's order.
STATUSES = ("committed", "unchanged", "would-change", "rolled-back", "failed", "skipped")
LAYERS = (m.Role.core, m.Role.district, m.Role.commune_cpe)
COMMIT_MESSAGE = "hatang net push"
#: Platforms whose napalm driver keeps a commit comment; napalm's IOSDriver and
#: EOSDriver raise NotImplementedError for any message.
COMMENTED = frozenset({"frr", "junos"})


@dataclass
class PushReport:
    """What a push did: one Result per device (``data['status']``, ``data['wave']``,
    ``data['checks']``), the waves as planned, and whether it stopped early."""

    waves: list[list[str]]
    results: dict[str, Result] = field(default_factory=dict)
    stopped_after_wave: int | None = None
    dry_run: bool = False

    def status(self, device: str) -> str:
        return self.results[device].data.get("status", "failed")

    @property
    def failed(self) -> list[str]:
        return [d for d, r in self.results.items() if not r.ok]

    @property
    def changed(self) -> list[str]:
        return [d for d, r in self.results.items() if r.changed]

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped_after_wave is None

    def counts(self) -> dict[str, int]:
        counts = {s: 0 for s in STATUSES}
        for device in self.results:
            counts[self.status(device)] += 1
        return {s: n for s, n in counts.items() if n}

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "waves": self.waves,
            "stopped_after_wave": self.stopped_after_wave,
            "counts": self.counts(),
            "devices": [{**r.as_dict(), "data": {k: v for k, v in r.data.items() if k != "traceback"}} for r in self.results.values()],
        }


def plan_waves(inv: Inventory, devices: Sequence[str], wave_size: int) -> list[list[str]]:
    """The canary alone first, then waves of at most ``wave_size`` that never mix layers
    (core, districts, communes): a router's uplink peer is always done before it."""
    if wave_size < 1:
        raise ValueError("wave_size must be at least 1")
    layer = {d.name: LAYERS.index(d.role) for d in inv.routers()}
    ordered = sorted(dict.fromkeys(devices), key=lambda name: (layer[name], name))
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


@dataclass
class DevicePush:
    """The per-device task of a push."""

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

    def __call__(self, name: str) -> Result:
        result = Result(host=name, data={"status": "failed", "checks": {}})
        try:
            driver = self.open_driver(self.inv, name)
            driver.open()
        except ConnectionException as exc:
            result.ok, result.error = False, str(exc)
            return result
        try:
            self._push(driver, name, result)
        except (ReplaceConfigException, MergeConfigException) as exc:
            result.ok, result.error = False, f"not applied: {exc}"
        except CommitError as exc:
            result.ok, result.error = False, str(exc)
        finally:
            _quietly(driver.close)
        return result

    def _push(self, driver: NetworkDriver, name: str, result: Result) -> None:
        if self.preflight and (problems := preflight.describe(preflight.check(self.inv, name, driver, self.configs[name]))):
            result.ok, result.error = False, f"stopped before any change, preflight: {problems}"
            return
        revert_in = revert_seconds(self.inv.platform(name).value, self.revert_in)
        diff = load_and_compare(driver, self.configs[name])
        result.diff = diff
        if not diff or self.dry_run:
            driver.discard_config()
            result.data["status"] = "would-change" if diff else "unchanged"
            return
        message = COMMIT_MESSAGE if self.inv.platform(name).value in COMMENTED else ""
        try:
            driver.commit_config(message=message, revert_in=revert_in)
        except Exception as exc:
            _quietly(driver.discard_config)  # a refused commit leaves no candidate session behind
            if isinstance(exc, NapalmException | NotImplementedError):
                raise
            raise CommitError(f"session lost during the commit ({describe_exception(exc)}): if {name} took it, it reverts by itself within {revert_in} s") from exc
        result.changed = True
        try:
            outcome = run_checks(self.inv, name, driver, self.core, timeout_s=self.check_timeout_s, skip=self.skip_checks, snmp=self.snmp)
        except Exception as exc:  # a check that cannot run is a failed check
            outcome = CheckOutcome()
            outcome.record("checks", False, describe_exception(exc))
        result.data["checks"] = outcome.passed
        result.data["check_s"] = outcome.seconds
        if outcome.ok:
            driver.confirm_commit()
            result.data["status"] = "committed"
            return
        result.ok = False
        try:
            driver.rollback()
        except Exception as exc:  # the router's own timer still reverts the commit
            result.error = f"post-checks failed ({'; '.join(outcome.reasons)}); rollback failed ({describe_exception(exc)}): the device reverts by itself within {revert_in} s"
            return
        result.data["status"] = "rolled-back"
        result.error = f"post-checks failed, rolled back to the previous configuration: {'; '.join(outcome.reasons)}"


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
) -> PushReport:
    """Push ``devices`` (rendered from ``inv`` unless ``configs`` gives the text) and
    return a :class:`PushReport`. Real pushes are appended to the ``push`` audit log.
    ``open_driver(inv, name)`` returns an unopened napalm driver; ``skip_checks`` names
    post-checks not to run (see :data:`hatang.network.checks.CHECKS`). ``revert_in``
    is checked against every device's platform first (:mod:`hatang.network.revert_time`);
    ``run_preflight`` (default: outside the lab) stops a device that fails
    :mod:`hatang.network.preflight` before its first change."""
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
    task = DevicePush(inv, configs, dry_run, revert_in, check_timeout_s, core, snmp, open_driver, tuple(skip_checks), preflight_on and not dry_run)
    try:
        for number, wave in enumerate(report.waves, start=1):
            label = f"wave {number}/{len(report.waves)}" + (" (canary)" if number == 1 else "")
            results = run_per_host(wave, task, max_workers=wave_size, label=label, show_progress=show_progress)
            report.results.update({r.host: r for r in results})
            failures = len(report.failed)
            if failures and (number == 1 or failures > max_failures) and number < len(report.waves):
                report.stopped_after_wave = number
                for name in (n for w in report.waves[number:] for n in w):
                    report.results[name] = Result(host=name, ok=False, error=f"skipped: {failures} device(s) failed (canary or more than --max-failures {max_failures})", data={"status": "skipped"})
                break
    finally:
        for probe in (core, snmp):
            if probe is not None:
                probe.close()
    if record and not dry_run:
        record_text = redact(to_json(report.as_dict()), renderer.builder.resolve.values())
        audit.append("push", {"environment": inv.env, **json.loads(record_text)})  # "devices": one dict per router
    return report


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret value (SNMP keys in a diff…) replaced: the audit log
    keeps what changed, never a credential."""
    for value in sorted(secrets, key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, "<redacted>")
    return text


def _quietly(action: Callable[[], object]) -> None:
    """Clean-up on a session that may be dead (after a lost connection napalm's
    IOSDriver still sends ``no file prompt quiet`` on close): its failure must not
    replace what the push did, which the result already says."""
    try:
        action()
    except Exception:
        pass


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
