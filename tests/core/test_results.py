"""hatang.results: the one concurrency primitive, its typed results, and map_per_host."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pytest

from hatang.errors import HatangError
from hatang.results import Result, Results, map_per_host, run_per_host


@dataclass
class Tagged(Result):
    tag: str = ""


def test_an_exception_becomes_a_failed_result_of_the_given_type():
    def task(n: int) -> Tagged:
        if n == 2:
            raise ValueError("no two")
        return Tagged(str(n), changed=True, tag="t")

    results = run_per_host([1, 2, 3], task, show_progress=False, result_type=partial(Tagged, tag="t"))
    assert sorted(r.host for r in results) == ["1", "2", "3"]
    assert all(isinstance(r, Tagged) and r.tag == "t" for r in results)
    assert [r.host for r in results.failed] == ["2"] and results["2"].error == "ValueError: no two"
    assert sorted(r.host for r in results.changed) == ["1", "3"]
    assert "traceback" in results["2"].data and "2" in results and "4" not in results


def test_results_update_keys_by_host():
    results: Results[Result] = Results()
    results.update([Result("a"), Result("b", ok=False)])
    results.add(Result("a", ok=False))
    assert len(results) == 2 and [r.host for r in results.failed] == ["a", "b"]


def test_map_per_host_keeps_the_hosts_order():
    assert list(map_per_host([3, 1, 2], lambda n: n * 10, name_of=lambda n: f"h{n}").items()) == [("h3", 30), ("h1", 10), ("h2", 20)]


def test_map_per_host_runs_every_host_then_names_each_failure():
    seen: list[int] = []

    def task(n: int) -> int:
        seen.append(n)
        if n % 2:
            raise HatangError(f"odd {n}")
        return n

    with pytest.raises(HatangError) as failed:
        map_per_host(range(6), task, max_workers=2, what="probes")
    assert sorted(seen) == list(range(6))
    assert failed.value.message == "probes: 3 of 6 failed" and failed.value.details == ["1: odd 1", "3: odd 3", "5: odd 5"]
    with pytest.raises(HatangError, match="^probes: 1: odd 1$"):
        map_per_host([0, 1], task, what="probes")
