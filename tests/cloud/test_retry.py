"""Retries: locks and timeouts pass after a while, other failures stop at once; VM ids
clashing with another client's take the next one."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from hatang.cloud.errors import PveError, TaskError, UnreachableError
from hatang.cloud.observed import ClusterView, Guest
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
    """Just enough of Pve for a clone: /cluster/nextid answers 100 until a clone to 100
    has finished its placeholder; the clone task to 100 finds it taken by someone else."""

    cluster = "c"

    def __init__(self):
        self.clones: list[int] = []
        self.taken = False

    def request(self, verb: str, path: str, **params):
        if (verb, path) == ("GET", "cluster/nextid"):
            return 101 if self.taken else 100
        assert (verb, path) == ("POST", "nodes/n1/qemu/9000/clone")
        self.clones.append(params["newid"])
        return f"UPID:n1:1:1:1:qmclone:{params['newid']}:u:"

    def wait(self, upid: str, what: str, timeout_s: float) -> list[str]:
        if upid.split(":")[6] == "100":
            self.taken = True  # another client's worker wrote its placeholder first
            raise TaskError(f"{what}: failed", upid=upid, exitstatus="unable to create VM 100: config file already exists")
        return []


def test_clone_whose_task_finds_its_id_taken_is_retried_with_the_next_id():
    """P1: qemu-server claims a clone's id only inside the qmclone task."""
    template = Guest(9000, "debian-12-cloud", "n1", "qemu", "stopped", 2, 2048, 2, ("template",), True, None, None)
    pve = FakePve()
    ops = Operations(pve, ClusterView("c", {}, [template], {}, {}))
    vm = SimpleNamespace(name="web", template="debian-12-cloud", disks=(("ceph-vm", 32),))
    assert ops._clone(vm, "n1") == (101, []) and pve.clones == [100, 101]
