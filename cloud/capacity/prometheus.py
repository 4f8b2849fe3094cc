"""Monthly history from Prometheus' HTTP API, as :mod:`.history` reads it from a CSV.

The metrics are those of prometheus-pve-exporter (``pve_cpu_usage_ratio``,
``pve_cpu_usage_limit``, ``pve_memory_usage_bytes``, ``pve_disk_usage_bytes``, with
``id`` labels ``node/<node>`` and ``storage/<node>/<pool>``), scraped once per cluster
with a ``cluster`` label naming the inventory's cluster. The queries, for cluster ``C``:

- CPU, busy logical CPUs of the nodes, scaled to physical cores by the cluster's
  cores ÷ threads::

      sum(pve_cpu_usage_ratio{cluster="C",id=~"node/.+"}
          * on(id, cluster) pve_cpu_usage_limit{cluster="C",id=~"node/.+"})

- RAM in use on the nodes, bytes → GiB::

      sum(pve_memory_usage_bytes{cluster="C",id=~"node/.+"})

- each pool ``P``, bytes → GB: shared storage is reported by every node, so the largest
  report counts; local storage is summed over the nodes::

      max(pve_disk_usage_bytes{cluster="C",id=~"storage/.+/P"})     (shared)
      sum(pve_disk_usage_bytes{cluster="C",id=~"storage/.+/P"})     (local)

Each query runs over the requested months (``query_range``, a step of a few hours);
CPU and RAM are the mean of each month, storage its last value. The longest run of
whole months that ends with the last month asked for is kept.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from hatang.cloud.capacity.history import CPU, RAM, MIN_MONTHS, History, Series, storage_key
from hatang.cloud.capacity.months import Month, current_month, month_str
from hatang.errors import HatangError
from hatang.inventory import model as m
from hatang.inventory.inventory import Inventory

MAX_POINTS = 10_000  # Prometheus refuses more than 11,000 points per series
GIB, GB = 2**30, 1e9


def queries(cluster: m.Cluster) -> dict[str, tuple[str, float, bool]]:
    """Resource key → (PromQL, divisor, month-end value instead of the month's mean)."""
    sel = f'cluster="{cluster.name}"'
    threads = sum(n.cores * n.threads_per_core for n in cluster.nodes)
    cores = sum(n.cores for n in cluster.nodes)
    result = {
        CPU: (f'sum(pve_cpu_usage_ratio{{{sel},id=~"node/.+"}} * on(id, cluster) pve_cpu_usage_limit{{{sel},id=~"node/.+"}})', threads / cores, False),
        RAM: (f'sum(pve_memory_usage_bytes{{{sel},id=~"node/.+"}})', GIB, False),
    }
    for storage in cluster.storage:
        agg = "max" if storage.shared else "sum"
        result[storage_key(storage.name)] = (f'{agg}(pve_disk_usage_bytes{{{sel},id=~"storage/.+/{storage.name}"}})', GB, True)
    return result


def month_start(month: Month) -> datetime:
    return datetime(month // 12, month % 12 + 1, 1, tzinfo=timezone.utc)


def read_prometheus(url: str, inv: Inventory, *, months: int = 24, until: Month | None = None) -> History:
    """Monthly samples of every cluster for the ``months`` whole months up to ``until``
    (default: last month)."""
    if months < MIN_MONTHS:
        raise HatangError(f"--history-months must be at least {MIN_MONTHS}")
    last = until if until is not None else current_month() - 1
    first = last - months + 1
    start, end = month_start(first), month_start(last + 1)
    step_h = max(1, -(-int((end - start).total_seconds() // 3600) // MAX_POINTS))
    history: History = {}
    for cluster in inv.cluster_by_name.values():
        values: dict[str, dict[Month, float]] = {}
        for key, (query, divisor, month_end) in queries(cluster).items():
            points = _query_range(url, query, start, end, step_h)
            by_month: dict[Month, list[float]] = defaultdict(list)
            for stamp, value in points:
                when = datetime.fromtimestamp(stamp, timezone.utc)
                month = when.year * 12 + when.month - 1
                if first <= month <= last:
                    by_month[month].append(value / divisor)
            values[key] = {mo: (vals[-1] if month_end else sum(vals) / len(vals)) for mo, vals in by_month.items()}
        series = _consecutive(cluster.name, values, first, last)
        if series:
            history[cluster.name] = series
    if not history:
        raise HatangError(f"Prometheus at {url} has no pve-exporter samples with a cluster label for {', '.join(inv.cluster_by_name)} in {month_str(first)}…{month_str(last)}",
                          details=["see hatang.cloud.capacity.prometheus for the metrics and queries it expects"])
    return history


def _consecutive(cluster: str, values: dict[str, dict[Month, float]], first: Month, last: Month) -> Series | None:
    """The longest run of months ending at ``last`` where CPU and RAM have samples;
    a pool whose samples do not cover that run is left out (no history for it)."""
    month = last
    while month >= first and all(month in values[k] for k in (CPU, RAM)):
        month -= 1
    run = range(month + 1, last + 1)
    if len(run) < MIN_MONTHS:
        return None
    kept = {k: tuple(v[mo] for mo in run) for k, v in values.items() if all(mo in v for mo in run)}
    return Series(cluster, run.start, kept)


def _query_range(url: str, query: str, start: datetime, end: datetime, step_h: int) -> list[tuple[float, float]]:
    import requests

    endpoint = url.rstrip("/") + "/api/v1/query_range"
    params = {"query": query, "start": start.timestamp(), "end": end.timestamp() - 1, "step": f"{step_h}h"}
    try:
        response = requests.get(endpoint, params=params, timeout=60)
    except requests.RequestException as exc:
        raise HatangError(f"cannot reach Prometheus at {url}: {exc}") from None
    try:
        body = response.json()
    except ValueError:
        raise HatangError(f"Prometheus at {url} answered HTTP {response.status_code} with no JSON (is it Prometheus?)") from None
    if body.get("status") != "success":
        raise HatangError(f"Prometheus at {url} refused a query: {body.get('error', body)}", details=[f"query: {query}"])
    result = body["data"]["result"]
    if not result:
        return []
    return [(float(t), float(v)) for t, v in result[0]["values"]]
