"""Injected faults: the simulator-only admin hook, a JSON file outside ``/api2/json``.

``python -m hatang.lab.pvesim fault …`` (or :class:`Faults` from a test) edits
``faults.json``; the server re-reads it when it changes. One-shot faults carry a
``count`` the server decrements as it fires them, under the same file lock.

- ``offline``: node names; requests for them answer 595 and their running tasks fail;
- ``fail_tasks``: ``{type, message, count}``: the next tasks of that type end in error;
- ``http_errors``: ``{method, path (regex), status, message, count}``: forced answers;
- ``locks``: ``{cluster, vmid, kind, until}``: a config lock held until a time;
- ``warn_tasks``: ``{type, message, count}``: the next tasks of that type succeed with
  ``WARNINGS: 1``;
- ``slow_alloc``: ``{storage, seconds, count}``: the next new volumes on that storage take
  that long to allocate (a config PUT waits meanwhile).
"""

from __future__ import annotations

import fcntl
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hatang.lab.pvesim.files import Watched, read_json, write_json

KINDS = ("offline", "fail_tasks", "http_errors", "locks", "warn_tasks", "slow_alloc")


def empty() -> dict[str, list]:
    return {kind: [] for kind in KINDS}


class Faults:
    def __init__(self, directory: Path):
        self.path = directory / "faults.json"
        self._lock_path = directory / ".faults.lock"
        self._watched = Watched(self.path, empty())

    # --- the admin side -----------------------------------------------------------

    @contextmanager
    def edit(self) -> Iterator[dict[str, list]]:
        """Read, let the caller change, write back atomically; one editor at a time."""
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = {**empty(), **read_json(self.path, {})}
            yield data
            write_json(self.path, data)

    def set_offline(self, node: str, offline: bool = True) -> None:
        with self.edit() as data:
            nodes = set(data["offline"])
            nodes.add(node) if offline else nodes.discard(node)
            data["offline"] = sorted(nodes)

    def fail_task(self, task_type: str, message: str, count: int = 1) -> None:
        with self.edit() as data:
            data["fail_tasks"].append({"type": task_type, "message": message, "count": count})

    def warn_task(self, task_type: str, message: str, count: int = 1) -> None:
        with self.edit() as data:
            data["warn_tasks"].append({"type": task_type, "message": message, "count": count})

    def slow_allocation(self, storage: str, seconds: float, count: int = 1) -> None:
        with self.edit() as data:
            data["slow_alloc"].append({"storage": storage, "seconds": seconds, "count": count})

    def http_error(self, method: str, path: str, message: str, status: int = 500, count: int = 1) -> None:
        with self.edit() as data:
            data["http_errors"].append({"method": method.upper(), "path": path, "status": status, "message": message, "count": count})

    def hold_lock(self, cluster: str, vmid: int, kind: str, seconds: float) -> None:
        with self.edit() as data:
            data["locks"].append({"cluster": cluster, "vmid": int(vmid), "kind": kind, "until": time.time() + seconds})

    def clear(self) -> None:
        with self.edit() as data:
            data.update(empty())

    # --- the server side ----------------------------------------------------------

    def current(self) -> dict[str, list]:
        return {**empty(), **self._watched.data()}

    def is_offline(self, node: str) -> bool:
        return node in self.current()["offline"]

    def held_lock(self, cluster: str, vmid: int) -> str | None:
        now = time.time()
        for entry in self.current()["locks"]:
            if entry["cluster"] == cluster and entry["vmid"] == vmid and entry["until"] > now:
                return entry["kind"]
        return None

    def _take(self, key: str, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """Fire the first matching one-shot fault of ``key`` (decrementing its count)."""
        if not any(matches(entry) for entry in self.current()[key]):
            return None  # the common case: no file lock, no write
        with self.edit() as data:
            for entry in data[key]:
                if matches(entry):
                    entry["count"] -= 1
                    data[key] = [e for e in data[key] if e["count"] > 0]
                    return entry
        return None

    def take_task_failure(self, task_type: str) -> str | None:
        fired = self._take("fail_tasks", lambda e: e["type"] == task_type)
        return fired["message"] if fired else None

    def take_task_warnings(self, task_type: str) -> list[str]:
        fired = self._take("warn_tasks", lambda e: e["type"] == task_type)
        return [fired["message"]] if fired else []

    def take_slow_allocation(self, storages: set[str]) -> float:
        fired = self._take("slow_alloc", lambda e: e["storage"] in storages)
        return float(fired["seconds"]) if fired else 0.0

    def take_http_error(self, method: str, path: str) -> tuple[int, str] | None:
        fired = self._take("http_errors", lambda e: e["method"] == method and re.search(e["path"], path) is not None)
        return (fired["status"], fired["message"]) if fired else None
