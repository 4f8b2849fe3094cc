"""Asynchronous tasks as PVE runs them: a UPID at once, the work in a worker, a status.

A task's UPID has PVE's nine fields (``UPID:node:pid:pstart:starttime:type:id:user:``,
hex where PVE writes hex). As ``RPCEnvironment::fork_worker`` does, the API answers with
the UPID before the worker has done anything: the worker starts a moment later
(``WORKER_START_S``), runs its ``begin`` step (a clone's placeholder config, the lock
checks PVE makes inside the worker), sleeps the task's duration, then does its work under
the cluster lock. It ends ``stopped`` with ``exitstatus`` ``OK``, ``WARNINGS: n`` (a
success that logged ``WARN:`` lines, pve-common's ``PVE::RESTEnvironment::log_warn``),
or the error. A task whose node goes offline ends with ``unexpected status``, and a fault
can make the next task of a type fail or warn; a failure after ``begin`` runs ``cleanup``.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hatang.lab.pvesim.faults import Faults
from hatang.lab.pvesim.store import ClusterState, SimError

_pids = itertools.count(os.getpid() * 16)
WORKER_START_S = 0.05  # fork, then the worker's own lock and checks


@dataclass
class Task:
    upid: str
    node: str
    type: str
    id: str
    user: str
    starttime: int
    pid: int
    pstart: int
    status: str = "running"
    exitstatus: str | None = None
    log: list[str] = field(default_factory=list)

    def as_status(self) -> dict:
        data = {
            "upid": self.upid, "node": self.node, "pid": self.pid, "pstart": self.pstart,
            "starttime": self.starttime, "type": self.type, "id": self.id,
            "user": self.user.split("!")[0], "status": self.status,
        }
        if "!" in self.user:
            data["tokenid"] = self.user.split("!")[1]
        if self.exitstatus is not None:
            data["exitstatus"] = self.exitstatus
        return data


class Tasks:
    """The tasks of one cluster (kept in memory: a simulator restart forgets them)."""

    def __init__(self, state: ClusterState, faults: Faults, duration_s: float):
        self.state = state
        self.faults = faults
        self.duration_s = duration_s
        self._tasks: dict[str, Task] = {}
        self._lock = threading.Lock()

    def start(self, node: str, task_type: str, vmid: int | str, user: str,
              work: Callable[[], None], cleanup: Callable[[], None] | None = None,
              duration_s: float | None = None, begin: Callable[[], None] | None = None) -> str:
        """Start ``work`` as a task on ``node``; returns its UPID at once."""
        now = int(time.time())
        pid = next(_pids) & 0xFFFFFFFF
        pstart = int(time.monotonic() * 100) & 0xFFFFFFFF
        upid = f"UPID:{node}:{pid:08X}:{pstart:08X}:{now:08X}:{task_type}:{vmid}:{user}:"
        task = Task(upid, node, task_type, str(vmid), user, now, pid, pstart)
        with self._lock:
            self._tasks[upid] = task
        duration = self.duration_s if duration_s is None else duration_s
        threading.Thread(target=self._run, args=(task, work, cleanup, duration, begin), daemon=True, name=upid).start()
        return upid

    def _sleep(self, task: Task, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.faults.is_offline(task.node):
            time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))

    def _fail(self, task: Task, message: str) -> None:
        task.exitstatus = message
        task.log.append(f"TASK ERROR: {message}")
        task.status = "stopped"

    def _run(self, task: Task, work: Callable[[], None], cleanup: Callable[[], None] | None, duration: float,
             begin: Callable[[], None] | None) -> None:
        self._sleep(task, WORKER_START_S)
        if begin is not None:
            with self.state.lock:
                try:
                    begin()
                    self.state.save()
                except SimError as exc:
                    self._fail(task, exc.message)  # nothing begun, nothing to clean up
                    return
        self._sleep(task, max(0.0, duration - WORKER_START_S))
        with self.state.lock:
            try:
                if self.faults.is_offline(task.node):
                    raise SimError("unexpected status")
                injected = self.faults.take_task_failure(task.type)
                if injected:
                    raise SimError(injected)
                work()
                warnings = self.faults.take_task_warnings(task.type)
                task.log += [f"WARN: {line}" for line in warnings]
                task.exitstatus = f"WARNINGS: {len(warnings)}" if warnings else "OK"
                task.log.append(f"TASK {task.exitstatus}")
                task.status = "stopped"
            except SimError as exc:
                self._fail(task, exc.message)
                if cleanup is not None:
                    cleanup()
            finally:
                self.state.save()

    def get(self, node: str, upid: str) -> Task:
        with self._lock:
            task = self._tasks.get(upid)
        if task is None or task.node != node:
            raise SimError(f"no such task '{upid}'", 400, {"upid": "unable to parse worker upid"} if not upid.startswith("UPID:") else None)
        return task
