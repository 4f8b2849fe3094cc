"""Per-host results and a thin concurrent dispatcher, in the manner of Nornir's core.

A task is a function of one host; :func:`run_per_host` calls it for every host in a
thread pool and wraps whatever happens, return value or exception, in a
:class:`Result`. One failing host never stops the others.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from hatang.console import progress
from hatang.errors import HatangError

H = TypeVar("H")


@dataclass
class Result:
    """What one task did on one host."""

    host: str
    ok: bool = True
    changed: bool = False
    diff: str = ""
    error: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def failed(self) -> bool:
        return not self.ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "ok": self.ok,
            "changed": self.changed,
            "diff": self.diff,
            "error": self.error,
            "data": self.data,
            "duration_s": round(self.duration_s, 3),
        }


@dataclass
class Results(Generic[H]):
    """Results of one task over many hosts, keyed by host name, in completion order."""

    by_host: dict[str, Result] = field(default_factory=dict)

    def add(self, result: Result) -> None:
        self.by_host[result.host] = result

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.by_host.values() if r.failed]

    @property
    def changed(self) -> list[Result]:
        return [r for r in self.by_host.values() if r.changed]

    def __iter__(self):
        return iter(self.by_host.values())

    def __len__(self) -> int:
        return len(self.by_host)


def describe_exception(exc: BaseException) -> str:
    """One line for the user: hatang's own errors as written, others with their type."""
    if isinstance(exc, HatangError):
        return exc.message
    text = str(exc).strip() or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if exc.__class__.__name__ not in text else text


def run_one(name: str, task: Callable[[], Result | None]) -> Result:
    """Run ``task`` for host ``name``; an exception becomes a failed Result."""
    started = time.monotonic()
    try:
        result = task() or Result(host=name)
    except Exception as exc:  # one host's failure must never crash the run
        result = Result(host=name, ok=False, error=describe_exception(exc), data={"traceback": traceback.format_exc()})
    result.duration_s = time.monotonic() - started
    return result


def run_per_host(
    hosts: Iterable[H],
    task: Callable[[H], Result | None],
    *,
    name_of: Callable[[H], str] = str,
    max_workers: int = 16,
    label: str = "working",
    show_progress: bool = True,
) -> Results[H]:
    """Call ``task(host)`` for each host concurrently and collect one Result per host."""
    hosts = list(hosts)
    results: Results[H] = Results()
    if not hosts:
        return results
    with progress(label, len(hosts), enabled=show_progress) as tick:
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(hosts)))) as pool:
            futures = {pool.submit(run_one, name_of(h), (lambda h=h: task(h))): h for h in hosts}
            for future in as_completed(futures):
                results.add(future.result())
                tick()
    return results
