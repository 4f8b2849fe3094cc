"""The process registry: pids with their start times, so only what the lab started dies."""

from __future__ import annotations

import json
import os
import signal
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


def test_hostname_runs_the_daemon_in_its_own_uts_namespace(registry, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("a UTS namespace needs root")
    log = tmp_path / "uname.log"
    (proc,) = registry.spawn([Spawn("t:uts", ["sh", "-c", "hostname; sleep 60"], log=log, hostname="cpe-test")])
    deadline = time.monotonic() + 5
    while not log.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log.read_text().strip() == "cpe-test"
    assert os.uname().nodename != "cpe-test"
