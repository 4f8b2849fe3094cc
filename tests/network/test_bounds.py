"""Bounds of a push, without a lab: a router that stops answering at a given step, the
watchdog, the verification after a lost session, and waves by management dependency.
The router here is a small in-memory stand-in (its silence is a wait nobody ends but the
watchdog's abort); the lab's fault corpus plays the same faults on real routers."""

from __future__ import annotations

import threading
import time

import pytest
from napalm.base.exceptions import CommitConfirmException, ConnectionClosedException

from hatang.inventory import load
from hatang.network import revert
from hatang.network.bounds import StepTimeout, Watchdog, push_bound_s
from hatang.network.push import management_parent, plan_waves, push

ALL_CHECKS = ("management", "ospf", "loopback", "snmp")


class Router:
    """What a router runs: its configuration, and the step at which it goes silent."""

    def __init__(self, running: str):
        self.running, self.silent_at, self.pending = running, None, None


class StandIn:
    """A napalm driver for a :class:`Router`: a silent step waits until aborted."""

    def __init__(self, router: Router):
        self.router, self.aborted = router, threading.Event()
        self.candidate = None

    def _step(self, name: str) -> None:
        if self.router.silent_at == name:
            self.aborted.wait(60)
            raise ConnectionClosedException(f"{name}: connection dropped")

    def open(self) -> None:
        self._step("open")

    def abort(self) -> None:
        self.aborted.set()

    def close(self) -> None:
        self.aborted.set()

    def load_replace_candidate(self, config: str) -> None:
        self._step("load")
        self.candidate = config

    def compare_config(self) -> str:
        return "" if self.candidate == self.router.running else f"-{self.router.running}\n+{self.candidate}"

    def discard_config(self) -> None:
        self.candidate = None

    def get_config(self, retrieve: str = "all") -> dict:
        return {"running": self.router.running}

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        self._step("commit")
        self.router.pending, self.router.running = self.router.running, self.candidate

    def has_pending_commit(self) -> bool:
        return self.router.pending is not None

    def confirm_commit(self) -> None:
        self._step("confirm")
        self.router.pending = None

    def rollback(self) -> None:
        self._step("rollback")
        self.router.running, self.router.pending = self.router.pending, None


@pytest.fixture(scope="module")
def inv():
    return load(env="lab")


def opener(routers: dict[str, Router]):
    return lambda inv, name: StandIn(routers[name])


def test_watchdog_ends_a_silent_step_and_names_it() -> None:
    driver = StandIn(Router("old"))
    driver.router.silent_at = "load"
    started = time.monotonic()
    with pytest.raises(StepTimeout, match="load: no answer within 0.2 s"):
        with Watchdog(driver, "cpe-x").step("load", 0.2):
            driver.load_replace_candidate("new")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("silent_at", ["load", "commit", "confirm"])
def test_a_router_silent_at_any_step_is_reported_and_the_others_of_its_wave_committed(inv, silent_at, monkeypatch) -> None:
    communes = ["cpe-hoi-hop", "cpe-lien-bao", "cpe-tich-son"]
    routers = {name: Router(f"old {name}") for name in communes}
    routers["cpe-lien-bao"].silent_at = silent_at
    monkeypatch.setattr(revert, "REVERT_MARGIN_S", 0.0)
    started = time.monotonic()
    report = push(inv, communes, configs={n: f"new {n}" for n in communes}, skip_checks=ALL_CHECKS, step_timeout_s=0.5,
                  revert_in=3, check_timeout_s=1, open_driver=opener(routers), max_failures=1, show_progress=False, record=False)
    took = time.monotonic() - started
    assert took <= push_bound_s(1, 3, 0.5, waves=len(report.waves))
    assert report.status("cpe-hoi-hop") == "committed"
    assert report.status("cpe-tich-son") in ("committed", "skipped")  # canary first: it may share no wave
    frozen = report.results["cpe-lien-bao"]
    if silent_at == "load":
        assert report.status("cpe-lien-bao") == "failed" and "before the commit" in frozen.error
    elif silent_at == "commit":  # it went silent before applying: found on its old configuration
        assert report.status("cpe-lien-bao") == "reverted" and "back on its previous configuration" in frozen.error, frozen.error
    else:  # applied, never confirmed, and this stand-in has no revert timer: a person must look
        assert report.status("cpe-lien-bao") == "unverified" and frozen.data["final"] == "new", frozen.error
        assert "session lost after the commit (at the confirm" in frozen.error


class TimerFired(StandIn):
    """A router whose revert timer fired before the confirm (the checks ran on the
    reverted configuration): nothing is left to confirm."""

    def confirm_commit(self) -> None:
        self.router.running, self.router.pending = self.router.pending, None
        raise CommitConfirmException("no commit is pending confirmation (the revert timer may have fired)")


def test_a_commit_its_timer_reverted_before_the_confirm_is_verified_reverted_not_failed(inv, monkeypatch) -> None:
    router = Router("old cpe-hoi-hop")
    monkeypatch.setattr(revert, "REVERT_MARGIN_S", 0.0)
    report = push(inv, ["cpe-hoi-hop"], configs={"cpe-hoi-hop": "new cpe-hoi-hop"}, skip_checks=ALL_CHECKS, step_timeout_s=0.5,
                  revert_in=3, check_timeout_s=1, open_driver=lambda inv, name: TimerFired(router), show_progress=False, record=False)
    result = report.results["cpe-hoi-hop"]
    assert report.status("cpe-hoi-hop") == "reverted" and result.data["final"] == "previous", result.error
    assert "no commit left to confirm" in result.error


def test_a_lost_session_is_verified_back_on_the_previous_configuration(inv, layer_reads) -> None:
    """The comparison is the state layer's ``config_diff`` (as drift's), never the driver's
    own called around it: the spy on the layer sees each one."""
    router = Router("old")
    lost = revert.LostSession("cpe-hoi-hop", time.monotonic() - 10, 1, "old", "new", "at the confirm")
    assert revert.verify(inv, lost, opener({"cpe-hoi-hop": router})).status == "reverted"
    assert layer_reads == ["frr"]  # on the previous one: the new one is not asked
    router.running = "new"
    assert revert.verify(inv, lost, opener({"cpe-hoi-hop": router})).final == "new"
    router.running = "something else"
    assert revert.verify(inv, lost, opener({"cpe-hoi-hop": router})).final == "mixed"
    assert layer_reads == ["frr"] * 5  # 1 + 2 + 2 comparisons


def test_a_district_is_never_in_a_wave_with_its_communes_and_its_failure_skips_them(inv) -> None:
    names = [d.name for d in inv.lab_devices("district")]
    for wave in plan_waves(inv, names, wave_size=50):
        parents = {management_parent(inv, n) for n in wave}
        assert not parents & set(wave), wave
    routers = {n: Router(f"old {n}") for n in names}
    routers["dr-vinh-yen"].silent_at = "load"
    report = push(inv, names, configs={n: f"new {n}" for n in names}, skip_checks=ALL_CHECKS, step_timeout_s=0.3,
                  open_driver=opener(routers), max_failures=len(names), wave_size=50, show_progress=False, record=False)
    communes = [n for n in names if management_parent(inv, n) == "dr-vinh-yen"]
    assert communes and report.status("dr-vinh-yen") == "failed"
    for commune in communes:
        assert report.status(commune) == "skipped"
        assert "management path goes through dr-vinh-yen, which failed" in report.results[commune].error
    assert all(routers[c].running == f"old {c}" for c in communes)


def test_a_commit_finished_after_its_session_was_lost_gets_its_late_timer(inv) -> None:
    """The router took the commit after the push gave up on it (a slow commit), so its
    timer fires one step late: found still pending, it is looked at again after another
    revert time — back on the previous configuration, not "new"."""
    router = Router("new")
    router.pending = "old"
    lost = revert.LostSession("cpe-hoi-hop", time.monotonic() - 10, 1, "old", "new", "during the commit")
    waits: list[float] = []

    def late_timer(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:  # the timer fires during the second wait
            router.running, router.pending = router.pending, None

    verdict = revert.verify(inv, lost, opener({"cpe-hoi-hop": router}), sleep=late_timer)
    assert verdict.status == "reverted" and verdict.final == "previous", verdict
    assert waits[1] == 1 + revert.REVERT_MARGIN_S


def test_a_timer_that_never_fires_is_for_a_person(inv) -> None:
    router = Router("new")
    router.pending = "old"
    lost = revert.LostSession("cpe-hoi-hop", time.monotonic() - 10, 1, "old", "new", "during the commit")
    verdict = revert.verify(inv, lost, opener({"cpe-hoi-hop": router}), sleep=lambda s: None)
    assert verdict.status == "unverified" and verdict.final == "new" and "still pending confirmation" in verdict.detail


class DroppedAfterTaking(StandIn):
    """A router that takes the commit, but whose session drops before the answer comes
    back (a commit that outlived its step, or the in-band path re-converging)."""

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        super().commit_config(message, revert_in)
        raise ConnectionClosedException("commit: connection dropped")


def test_a_commit_whose_session_dropped_is_found_pending_and_confirmed_on_a_new_one(inv) -> None:
    router = Router("old cpe-hoi-hop")
    report = push(inv, ["cpe-hoi-hop"], configs={"cpe-hoi-hop": "new cpe-hoi-hop"}, skip_checks=ALL_CHECKS, step_timeout_s=0.5,
                  revert_in=3, check_timeout_s=1, open_driver=lambda inv, name: DroppedAfterTaking(router), show_progress=False, record=False)
    result = report.results["cpe-hoi-hop"]
    assert report.status("cpe-hoi-hop") == "committed", result.error
    assert "found committed and pending on a new session" in result.data["resumed"]
    assert router.running == "new cpe-hoi-hop" and router.pending is None  # confirmed


def test_a_commit_found_not_taken_is_left_to_its_timer(inv, monkeypatch) -> None:
    """Reached again, the router is not on the new configuration (its timer reverted it,
    or it refused): no confirm, the lost session's verification reports it."""
    router = Router("old cpe-hoi-hop")
    monkeypatch.setattr(revert, "REVERT_MARGIN_S", 0.0)

    class Reverted(DroppedAfterTaking):
        def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
            try:
                super().commit_config(message, revert_in)
            finally:
                router.running = "something else"

    report = push(inv, ["cpe-hoi-hop"], configs={"cpe-hoi-hop": "new cpe-hoi-hop"}, skip_checks=ALL_CHECKS, step_timeout_s=0.5,
                  revert_in=3, check_timeout_s=1, open_driver=lambda inv, name: Reverted(router), show_progress=False, record=False)
    result = report.results["cpe-hoi-hop"]
    assert "resumed" not in result.data and "during the commit" in result.error, result.error
    assert router.pending is not None  # never confirmed
