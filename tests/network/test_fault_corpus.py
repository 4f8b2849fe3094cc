"""The fault corpus (hatang.lab.faultcorpus) against the small lab: every push ends
within its bound and every router ends on its previous or its new configuration,
reachable again once the fault is repaired: none stranded."""

from __future__ import annotations

import pytest

from hatang.lab import faultcorpus as corpus

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab(lab_small):
    corpus.back_to_intent(lab_small)
    return lab_small


@pytest.fixture
def play(lab):
    """Play one case, check what every case must hold, put the lab back to intent."""
    def run(case) -> corpus.FaultRun:
        try:
            result = case(lab)
        finally:
            corpus.back_to_intent(lab)
        assert result.report_s <= result.bound_s, result
        assert result.stranded == [], result
        assert set(result.final.values()) <= {"previous", "new"}, result
        return result
    return run


def test_a_change_cutting_its_own_uplink_is_reverted_by_the_router_and_verified(play) -> None:
    result = play(corpus.uplink_breaking_change)
    (device,) = result.final
    assert result.statuses[device] == "reverted" and result.final[device] == "previous", result
    assert "back on its previous configuration" in result.errors[device]


def test_a_router_frozen_after_its_commit_is_reported_and_ends_on_its_old_configuration(play) -> None:
    result = play(corpus.frozen_after_commit)
    (device,) = result.final
    assert result.statuses[device] in ("unverified", "reverted") and result.final[device] == "previous", result
    assert "session lost after the commit" in result.errors[device]


def test_a_router_killed_during_its_commit_ends_on_its_old_configuration(play) -> None:
    result = play(corpus.killed_during_commit)
    (device,) = result.final
    assert result.statuses[device] in ("unverified", "reverted") and result.final[device] == "previous", result


def test_a_session_dropped_before_the_commit_leaves_the_router_unchanged(play) -> None:
    result = play(corpus.dropped_before_commit)
    (device,) = result.final
    assert result.statuses[device] == "failed" and "before the commit" in result.errors[device], result
    assert result.final[device] == "previous"


def test_wrong_credentials_and_a_changed_host_key_change_nothing(play) -> None:
    for case, words in ((corpus.wrong_credentials, "wrong credentials"), (corpus.changed_host_key, "host key CHANGED")):
        result = play(case)
        (device,) = result.final
        assert result.statuses[device] == "failed" and words in result.errors[device], result
        assert result.final[device] == "previous"


def test_two_concurrent_pushes_to_one_router_leave_one_whole_configuration(play) -> None:
    result = play(corpus.concurrent_pushes)
    (device,) = result.final
    assert "committed" in result.statuses[device].split("/") and result.final[device] == "new", result


def test_communes_waiting_behind_a_district_whose_uplink_is_lost_are_reported_unreachable(play) -> None:
    result = play(corpus.district_uplink_lost)
    assert result.statuses[corpus.DISTRICT] == "committed" and result.final[corpus.DISTRICT] == "new", result
    for commune in corpus.COMMUNES:
        assert result.statuses[commune] == "failed" and "unreachable" in result.errors[commune], result
        assert result.final[commune] == "previous"


def test_one_frozen_commune_is_reported_and_the_others_are_committed(play) -> None:
    result = play(corpus.frozen_before_push)
    frozen = corpus.COMMUNES[1]
    assert result.statuses[frozen] == "failed" and result.final[frozen] == "previous", result
    for commune in set(corpus.COMMUNES) - {frozen}:
        assert result.statuses[commune] == "committed" and result.final[commune] == "new", result


def test_a_commit_slower_than_its_step_is_picked_up_again_and_confirmed(play) -> None:
    result = play(corpus.slow_commit)
    (device,) = result.final
    assert result.statuses[device] == "committed (resumed)" and result.final[device] == "new", result
