"""Retries: locks and timeouts pass after a while, other failures stop at once; VM ids
clashing with another client's take the next one."""

from __future__ import annotations

import itertools

import pytest

from hatang.cloud.errors import PveError, UnreachableError
from hatang.cloud.observed import ClusterView
from hatang.cloud.operations import Operations
from hatang.cloud.retry import with_backoff


def flaky(failures: list[Exception]):
    calls = []

    def action() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "done"

    return action, calls


def test_lock_and_timeout_errors_are_retried_then_succeed():
    locked = PveError("c", "PUT", "nodes/n/qemu/100/config", 500, "VM is locked (backup)")
    action, calls = flaky([locked, UnreachableError("slow", timeout=True)])
    assert with_backoff(action, first_delay_s=0.001) == "done" and len(calls) == 3


def test_other_errors_are_not_retried_and_give_up_after_the_attempts():
    action, calls = flaky([PveError("c", "POST", "p", 500, "storage 'x' does not exist")])
    with pytest.raises(PveError, match="does not exist"):
        with_backoff(action, first_delay_s=0.001)
    assert len(calls) == 1
    locked = PveError("c", "PUT", "p", 500, "VM is locked (clone)")
    action, calls = flaky([locked] * 10)
    with pytest.raises(PveError, match="is locked"):
        with_backoff(action, attempts=3, first_delay_s=0.001)
    assert len(calls) == 3


class FakePve:
    """Just enough of Pve for id allocation: /cluster/nextid counts up."""

    cluster = "c"

    def __init__(self):
        self.ids = itertools.count(100)

    def request(self, verb: str, path: str, **params):
        assert (verb, path) == ("GET", "cluster/nextid")
        return next(self.ids)


def test_vm_id_taken_by_another_client_moves_to_the_next_one():
    ops = Operations(FakePve(), ClusterView("c", {}, [], {}, {}))
    tried = []

    def clone(vmid: int) -> str:
        tried.append(vmid)
        if vmid == 100:
            raise PveError("c", "POST", "clone", 500, f"VM {vmid} already exists on node 'n1'")
        return "UPID:n1:1:1:1:qmclone:9000:u:"

    assert ops._claim_id(clone, "web") == (101, "UPID:n1:1:1:1:qmclone:9000:u:") and tried == [100, 101]
