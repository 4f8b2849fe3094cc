"""Per-host results and a thin concurrent dispatcher, in the manner of Nornir's core.

A task is a function of one host; :func:`run_per_host` calls it for every host in a
thread pool and wraps whatever happens, return value or exception, in a
:class:`Result`. One failing host never stops the others.

A room whose outcomes carry more than a Result subclasses it with typed fields (a push's
:class:`hatang.network.push.DeviceResult`, an apply's :class:`hatang.cloud.apply.Step`)
and passes ``result_type`` so that a task's exception becomes one of those too.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Iterator
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


R = TypeVar("R", bound=Result)


@dataclass
class Results(Generic[R]):
    """Results of one task over many hosts, keyed by host name, in completion order."""

    by_host: dict[str, R] = field(default_factory=dict)

    def add(self, result: R) -> None:
        self.by_host[result.host] = result

    def update(self, results: Iterable[R]) -> None:
        for result in results:
            self.add(result)

    @property
    def failed(self) -> list[R]:
        return [r for r in self.by_host.values() if r.failed]

    @property
    def changed(self) -> list[R]:
        return [r for r in self.by_host.values() if r.changed]

    def __getitem__(self, host: str) -> R:
        return self.by_host[host]

    def __contains__(self, host: object) -> bool:
        return host in self.by_host

    def __iter__(self) -> Iterator[R]:
        return iter(self.by_host.values())

    def __len__(self) -> int:
        return len(self.by_host)


def describe_exception(exc: BaseException) -> str:
    """One line for the user: hatang's own errors as written, others with their type."""
    if isinstance(exc, HatangError):
        return exc.message
    text = str(exc).strip() or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if exc.__class__.__name__ not in text else text


def run_one(name: str, task: Callable[[], R | None], result_type: Callable[..., R] = Result) -> R:  # type: ignore[assignment]
    """Run ``task`` for host ``name``; an exception becomes a failed ``result_type``."""
    started = time.monotonic()
    try:
        result = task() or result_type(host=name)
    except Exception as exc:  # one host's failure must never crash the run
        result = result_type(host=name, ok=False, error=describe_exception(exc), data={"traceback": traceback.format_exc()})
    result.duration_s = time.monotonic() - started
    return result


def run_per_host(
    hosts: Iterable[H],
    task: Callable[[H], R | None],
    *,
    name_of: Callable[[H], str] = str,
    max_workers: int = 16,
    label: str = "working",
    show_progress: bool = True,
    result_type: Callable[..., R] = Result,  # type: ignore[assignment]
) -> Results[R]:
    """Call ``task(host)`` for each host concurrently and collect one Result per host;
    when the task raises or returns None, ``result_type(host=…, ok=…, error=…, data=…)``
    makes it (a subclass of Result, or a partial of one with its own fields set)."""
    hosts = list(hosts)
    results: Results[R] = Results()
    if not hosts:
        return results
    with progress(label, len(hosts), enabled=show_progress) as tick:
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(hosts)))) as pool:
            futures = {pool.submit(run_one, name_of(h), (lambda h=h: task(h)), result_type): h for h in hosts}
            for future in as_completed(futures):
                results.add(future.result())
                tick()
    return results


T = TypeVar("T")


def map_per_host(
    hosts: Iterable[H],
    fn: Callable[[H], T],
    *,
    name_of: Callable[[H], str] = str,
    max_workers: int = 16,
    what: str = "working",
) -> dict[str, T]:
    """:func:`run_per_host` for a step that must succeed on every host (the lab's set-up,
    its probes): ``fn(host)`` for each, concurrently, its values by host name in the
    hosts' order. Every host runs to its end; then, if any failed, one HatangError names
    each failed host and its error (not only the first to fail)."""
    hosts = list(hosts)
    results = run_per_host(hosts, lambda h: Result(name_of(h), data={"value": fn(h)}), name_of=name_of,
                           max_workers=max_workers, show_progress=False)
    if results.failed:
        failed = sorted(results.failed, key=lambda r: r.host)
        if len(failed) == 1:
            raise HatangError(f"{what}: {failed[0].host}: {failed[0].error}")
        raise HatangError(f"{what}: {len(failed)} of {len(hosts)} failed", details=[f"{r.host}: {r.error}" for r in failed])
    return {name_of(h): results[name_of(h)].data["value"] for h in hosts}
