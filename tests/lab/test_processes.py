"""The process registry: pids with their start times, so only what the lab started dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from hatang.lab.processes import Process, Registry, Spawn, is_alive, proc_starttime

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def registry(tmp_path):
    reg = Registry(tmp_path)
    yield reg
    reg.stop("")  # whatever a failing test left


def test_spawn_records_pid_and_starttime_and_stop_kills_it(registry, tmp_path):
    (proc,) = registry.spawn([Spawn("t:one", SLEEPER, log=tmp_path / "one.log")])
    recorded = json.loads((tmp_path / "processes.json").read_text())["t:one"]
    assert recorded["pid"] == proc.pid and recorded["starttime"] == proc_starttime(proc.pid)
    assert is_alive(proc)
    assert registry.stop("t:one", exact=True) == ["t:one"]
    assert not is_alive(proc) and registry.read() == {}


def test_spawn_is_idempotent(registry):
    first = registry.spawn([Spawn("t:a", SLEEPER)])
    again = registry.spawn([Spawn("t:a", SLEEPER)])
    assert first == again


def test_a_dead_daemon_is_started_again(registry):
    (first,) = registry.spawn([Spawn("t:a", SLEEPER)])
    os.kill(first.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while is_alive(first) and time.monotonic() < deadline:
        os.waitpid(first.pid, os.WNOHANG)
        time.sleep(0.01)
    (second,) = registry.spawn([Spawn("t:a", SLEEPER)])
    assert second.pid != first.pid and is_alive(second)


def test_a_reused_pid_is_never_killed(registry):
    """A recorded pid whose start time differs belongs to someone else now."""
    (proc,) = registry.spawn([Spawn("t:mine", SLEEPER)])
    stranger = Process("t:stranger", proc.pid, proc.starttime - 1)
    data = json.loads(registry.path.read_text())
    data["t:stranger"] = stranger.__dict__
    registry.path.write_text(json.dumps(data))
    registry.stop("t:stranger", exact=True)
    assert is_alive(proc)


def test_stop_by_prefix_leaves_the_others(registry):
    procs = registry.spawn([Spawn("a:1", SLEEPER), Spawn("a:2", SLEEPER), Spawn("b:1", SLEEPER)])
    assert sorted(registry.stop("a:")) == ["a:1", "a:2"]
    assert [is_alive(p) for p in procs] == [False, False, True]


def test_a_stopped_process_still_dies(registry):
    (proc,) = registry.spawn([Spawn("t:frozen", SLEEPER)])
    os.kill(proc.pid, signal.SIGSTOP)
    registry.stop("t:frozen", exact=True, timeout_s=2)
    assert not is_alive(proc)


def test_a_program_that_cannot_start_is_named(registry):
    with pytest.raises(Exception, match="t:bad"):
        registry.spawn([Spawn("t:bad", ["/nonexistent/daemon"])])


def _first_line(log, timeout_s: float = 5.0) -> str:
    deadline = time.monotonic() + timeout_s
    while not log.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.01)
    return log.read_text().strip()


def _ns(pid: int | str, kind: str) -> str:
    return os.readlink(f"/proc/{pid}/ns/{kind}")


@pytest.mark.parametrize("own_sysfs", [True, False])
def test_hostname_runs_the_daemon_in_its_own_uts_namespace(registry, tmp_path, own_sysfs):
    if os.geteuid() != 0:
        pytest.skip("a UTS namespace needs root")
    log = tmp_path / "uname.log"
    (proc,) = registry.spawn([Spawn("t:uts", ["sh", "-c", "hostname; sleep 60"], log=log, hostname="cpe-test", own_sysfs=own_sysfs)])
    assert _first_line(log) == "cpe-test"
    assert os.uname().nodename != "cpe-test"
    assert _ns(proc.pid, "uts") != _ns("thread-self", "uts")


@pytest.fixture
def netns():
    """A network namespace of this test's own (not a lab one: no ``ht-`` prefix)."""
    if os.geteuid() != 0:
        pytest.skip("a network namespace needs root")
    name = f"hatang-test-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    yield name
    subprocess.run(["ip", "netns", "del", name], check=True)


def test_entering_only_the_network_namespace_leaves_this_process_where_it_was(registry, tmp_path, netns):
    """own_sysfs=False: the daemon is in the namespace's network and a UTS namespace of
    its own, in the host's mount namespace; this thread is back in its own namespaces."""
    before = {kind: _ns("thread-self", kind) for kind in ("net", "uts", "mnt")}
    log = tmp_path / "links.log"
    (proc,) = registry.spawn([Spawn("t:net", ["sh", "-c", "ip -o link | wc -l; sleep 60"], netns=netns, log=log, hostname="r-test", own_sysfs=False)])
    assert _first_line(log) == "1"  # lo only: not the host's interfaces
    assert os.stat(f"/proc/{proc.pid}/ns/net").st_ino == os.stat(f"/run/netns/{netns}").st_ino
    assert _ns(proc.pid, "mnt") == before["mnt"]
    assert {kind: _ns("thread-self", kind) for kind in before} == before
    assert os.uname().nodename != "r-test"


def test_a_missing_namespace_is_named_and_this_thread_stays_home(registry):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    before = _ns("thread-self", "net")
    with pytest.raises(Exception, match="t:lost.*/run/netns/ht-nonexistent"):
        registry.spawn([Spawn("t:lost", SLEEPER, netns="ht-nonexistent", hostname="r-lost", own_sysfs=False)])
    assert _ns("thread-self", "net") == before and os.uname().nodename != "r-lost"
