"""Poll SNMP agents with a module: one :class:`TargetResult` per target, never a crash.

``poll(targets, module, …)`` is the asyncio entry point (the exporter and ``hatang
monitor poll`` use it); ``poll_device(inv, name)`` is the synchronous one for other
rooms (runbook diagnostics ask it for interface state).

Values are reported as the agent gives them, in snmp_exporter's shapes:
- Counter32/Counter64 are exported as counters; a wrap (2^32 or 2^64) or an agent
  restart shows as a decrease, which Prometheus' ``rate()``/``increase()`` already
  treat as a counter reset. The if_mib module uses the 64-bit ``ifHC*`` counters for
  traffic so that wraps do not happen in practice (2^64 octets is 46 years at 100 Gbit/s).
- sysUpTime (TimeTicks, 1/100 s) wraps to 0 after 497 days. It is exported as the
  gauge snmp_exporter exports; the ``HatangDeviceRebooted`` rule tells a wrap from a
  reboot (a drop from near 2^32 is a wrap) instead of the exporter keeping state, so
  the exporter stays stateless like snmp_exporter and any replica gives the same answer.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pysnmp.entity.engine import SnmpEngine

from hatang.monitoring import modules as mods
from hatang.monitoring.ber import Missing, Oid, Value
from hatang.monitoring.limiter import Limiter
from hatang.monitoring.snmp import Session, SnmpFailure, dotted
from hatang.monitoring.targets import Target, device_target

DEFAULT_TIMEOUT = 2.0
DEFAULT_RETRIES = 1
DEFAULT_CONCURRENCY = 32
DEFAULT_DEADLINE_S = 10.0  # one target's whole poll, as snmp_exporter's default scrape timeout
MAX_EXAMPLES = 5


class Sample(NamedTuple):
    """One value in snmp_exporter's shape: metric name, type, help, labels, value (a
    tuple: thousands are made per scrape, and a frozen dataclass costs nearly three times more)."""

    name: str
    type: str
    help: str
    labels: dict[str, str]
    value: float


@dataclass
class TargetResult:
    """What polling one target with one module gave."""

    target: str
    address: str
    module: str
    ok: bool = True
    error: str = ""
    samples: list[Sample] = field(default_factory=list)
    duration_s: float = 0.0
    requests: int = 0
    pdus_returned: int = 0
    walk_duration_s: float = 0.0
    value_errors: int = 0  # values of the wrong type for their metric: counted, never silently dropped
    value_error_examples: list[str] = field(default_factory=list)

    def wrong_type(self, metric: mods.Metric, oid: Oid, value: Value) -> None:
        """Count a value that cannot be its metric (text in a counter column, say)."""
        self.value_errors += 1
        if len(self.value_error_examples) < MAX_EXAMPLES:
            self.value_error_examples.append(f"{metric.name} at {dotted(oid)}: {kind_of(value)} where a number belongs")

    def value(self, name: str, **labels: str) -> float | None:
        """The first sample named ``name`` whose labels include ``labels``."""
        for sample in self.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
        return None

    def rows(self, index: str) -> dict[str, dict[str, Any]]:
        """Table rows by index (e.g. ``rows("ifIndex")``): each row's labels and metrics,
        e.g. ``{"2": {"ifName": "eth0", "ifOperStatus": 1.0, …}}``."""
        rows: dict[str, dict[str, Any]] = {}
        for sample in self.samples:
            key = sample.labels.get(index)
            if key is not None:
                row = rows.setdefault(key, dict(sample.labels))
                row[sample.name] = sample.value
        return rows

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "address": self.address,
            "module": self.module,
            "ok": self.ok,
            "error": self.error,
            "duration_s": round(self.duration_s, 4),
            "requests": self.requests,
            "pdus_returned": self.pdus_returned,
            "value_errors": self.value_errors,
            "value_error_examples": self.value_error_examples,
            "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in self.samples],
        }


def to_number(value: Value) -> float | None:
    """A numeric SNMP value as a float (None for strings, OIDs and absent values)."""
    return float(value) if isinstance(value, int) else None


def to_text(value: Value) -> str:
    """A DisplayString as text (invalid UTF-8 replaced, as snmp_exporter does); an OID dotted."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, tuple):
        return dotted(value)
    return "" if isinstance(value, Missing) else str(value)


def index_of(oid: Oid, column: Oid) -> str:
    return ".".join(str(part) for part in oid[len(column):])


def kind_of(value: Value) -> str:
    return "a string" if isinstance(value, bytes) else "an OID" if isinstance(value, tuple) else type(value).__name__


def scalar_sample(metric: mods.Metric, oid: Oid, value: Value, result: TargetResult) -> Sample | None:
    """The sample of a scalar; None when the agent has none (noSuchObject) or, counted on
    ``result``, when its value is of the wrong type."""
    if metric.type == "DisplayString":
        return Sample(metric.name, "gauge", metric.help, {metric.name: to_text(value)}, 1.0)
    number = to_number(value)
    if number is None:
        if not isinstance(value, Missing):
            result.wrong_type(metric, oid, value)
        return None
    return Sample(metric.name, metric.type, metric.help, {}, number)


def table_samples(table: mods.Table, walked: dict[Oid, list[tuple[Oid, Value]]], result: TargetResult) -> list[Sample]:
    """Samples of one walked table: each column's rows, labelled with index and lookups;
    a value of the wrong type is counted on ``result``."""
    lookups: dict[str, dict[str, str]] = {}
    for lookup in table.lookups:
        column = lookup.oid_tuple
        for oid, value in walked.get(column, []):
            lookups.setdefault(index_of(oid, column), {})[lookup.name] = to_text(value)
    samples = []
    rows: dict[str, dict[str, str]] = {}  # one labels dict per row, shared by its samples (never mutated)
    for metric in table.columns:
        column = metric.oid_tuple
        for oid, value in walked.get(column, []):
            index = index_of(oid, column)
            number = to_number(value)
            if number is None:
                result.wrong_type(metric, oid, value)
                continue
            labels = rows.get(index)
            if labels is None:
                found = lookups.get(index, {})
                labels = rows[index] = {table.index: index, **{lookup.name: found.get(lookup.name, "") for lookup in table.lookups}}
            samples.append(Sample(metric.name, metric.type, metric.help, labels, number))
    return samples


async def poll_target(
    engine: SnmpEngine, target: Target, module: mods.Module, *, timeout: float, retries: int, max_repetitions: int = 25,
    deadline_s: float = DEFAULT_DEADLINE_S, from_first_place: bool = False, limit: Limiter | None = None,
) -> TargetResult:
    """Poll one target within ``deadline_s`` from now (a scrape's), or with
    ``from_first_place`` from when its first request gets a place in ``limit`` (one poll
    of many targets); any failure becomes a failed result naming the target. ``limit``
    bounds the requests in their first timeout (see :class:`Session`)."""
    started = time.monotonic()
    result = TargetResult(target.name, target.address, module.module)
    deadline = None if from_first_place else started + deadline_s
    session = Session(engine, target.address, target.port, target.auth, timeout=timeout, retries=retries, deadline=deadline, budget_s=deadline_s, limit=limit)
    try:
        if module.scalars:
            answer = await session.get([m.oid_tuple + (0,) for m in module.scalars])
            for metric, (oid, value) in zip(module.scalars, answer):
                sample = scalar_sample(metric, oid, value, result)
                if sample is not None:
                    result.samples.append(sample)
        for table in module.tables:
            columns = [m.oid_tuple for m in table.lookups] + [m.oid_tuple for m in table.columns]
            result.samples.extend(table_samples(table, await session.walk_columns(columns, max_repetitions), result))
    except SnmpFailure as exc:
        result.ok, result.error, result.samples = False, f"{target.name} ({target.address}): {exc}", []
    except Exception as exc:  # one target's surprise must never stop the others
        result.ok, result.error, result.samples = False, f"{target.name} ({target.address}): {type(exc).__name__}: {exc}", []
    result.requests, result.pdus_returned, result.walk_duration_s = session.requests, session.varbinds_returned, session.wire_s
    result.duration_s = time.monotonic() - started
    return result


async def poll(
    targets: Iterable[Target],
    module: str | mods.Module,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    concurrency: int = DEFAULT_CONCURRENCY,
    deadline_s: float = DEFAULT_DEADLINE_S,
    engine: SnmpEngine | None = None,
    on_result: Any = None,
) -> list[TargetResult]:
    """Poll every target with ``module``, at most ``concurrency`` fresh requests at a time
    (a target that does not answer gives its place up after one timeout); results in input order.

    ``on_result(result)`` is called as each target finishes (progress bars use it). An
    ``engine`` given is hatang's from then on (:func:`hatang.monitoring.rawpdu.install`).
    """
    spec = mods.load(module) if isinstance(module, str) else module
    own_engine = engine is None
    engine = engine or SnmpEngine()
    limit = Limiter(concurrency)

    async def one(target: Target) -> TargetResult:
        result = await poll_target(engine, target, spec, timeout=timeout, retries=retries, deadline_s=deadline_s, from_first_place=True, limit=limit)
        if on_result is not None:
            on_result(result)
        return result

    try:
        return list(await asyncio.gather(*(one(t) for t in targets)))
    finally:
        if own_engine:
            engine.close_dispatcher()


def poll_device(inv: Any, device_name: str, module: str = "if_mib", *, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES) -> TargetResult:
    """Poll one inventory device now (synchronous); e.g. ``poll_device(inv, "cpe-tich-son").rows("ifIndex")``."""
    target = device_target(inv, device_name)
    results = asyncio.run(poll([target], module, timeout=timeout, retries=retries, concurrency=1))
    return results[0]


class DevicePoller:
    """Synchronous polls from many threads through one engine on one event-loop thread,
    for as long as the poller is open (e.g. one push). A new engine loads pysnmp's MIBs,
    ~50 ms of CPU: :func:`poll_device` pays it on every call, which a push checking
    dozens of routers at once cannot afford.

        with DevicePoller() as snmp:
            snmp.poll(inv, "cpe-tich-son", "system").ok
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hatang-snmp", daemon=True)
        self._thread.start()
        self._engine = self._run(self._new_engine())

    @staticmethod
    async def _new_engine() -> SnmpEngine:
        return SnmpEngine()  # made in the loop's thread: its dispatcher belongs to that loop

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def poll(self, inv: Any, device_name: str, module: str = "if_mib", *, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES) -> TargetResult:
        target = device_target(inv, device_name)
        return self._run(poll([target], module, timeout=timeout, retries=retries, concurrency=1, engine=self._engine))[0]

    async def _shutdown(self) -> None:
        self._engine.close_dispatcher()
        await asyncio.sleep(0)  # lets the dispatcher's cancelled timer task finish
        await self._loop.shutdown_default_executor()  # the address lookups' threads

    def close(self) -> None:
        self._run(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> DevicePoller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
