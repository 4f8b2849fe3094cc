"""Monthly samples of what each cluster actually used, from a CSV file.

The file has one row per cluster and month::

    month,cluster,cpu_used_cores,ram_used_gib,storage_used_gb:ceph-vm,storage_used_gb:backup-nfs
    2024-01,pve-core,41.5,402.0,5210,21800

- ``month``: ``YYYY-MM``; each cluster's months must follow each other with no gap.
- ``cpu_used_cores``: mean busy physical cores over the month (node CPU use × cores).
- ``ram_used_gib``: mean RAM in use on the nodes, GiB.
- ``storage_used_gb:<pool>``: data stored in that storage pool at the end of the month,
  GB, before replication (what the VMs wrote). One column per pool; a cluster that has
  no such pool leaves the cell empty. A pool with no column has no history.

Every value is a number ≥ 0. Lines starting with ``#`` are comments (before the header
too). A spreadsheet's export with ``;`` between cells and decimal commas (``42,5``), with
or without a byte-order mark, reads the same. Problems name the file, the row and the
column.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hatang.cloud.capacity.months import Month, month_str, parse_month
from hatang.errors import HatangError

CPU, RAM, STORAGE = "cpu", "ram", "storage:"
STORAGE_PREFIX = "storage_used_gb:"
REQUIRED = ("month", "cluster", "cpu_used_cores", "ram_used_gib")
MIN_MONTHS = 3


@dataclass(frozen=True)
class Series:
    """One cluster's samples: consecutive months and, per resource, one value a month.

    Resources are ``cpu`` (cores), ``ram`` (GiB) and ``storage:<pool>`` (GB)."""

    cluster: str
    first: Month
    values: Mapping[str, tuple[float, ...]]

    @property
    def months(self) -> list[Month]:
        return list(range(self.first, self.first + len(next(iter(self.values.values())))))

    @property
    def last(self) -> Month:
        return self.months[-1]


History = dict[str, Series]


def storage_key(pool: str) -> str:
    return STORAGE + pool


class HistoryError(HatangError):
    """The history is unusable; the message names the file, row and column."""

    exit_code = 2


def read_history(path: Path, pools_by_cluster: Mapping[str, Iterable[str]]) -> History:
    """Read and check a history CSV against the clusters (and their pools) it may name."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise HistoryError(f"{path}: cannot read the history: {exc.strerror}") from None
    delimiter = _delimiter(text)
    rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
    if delimiter == ";":  # decimal commas go with semicolons
        rows = [[cell.replace(",", ".") for cell in row] for row in rows]
    return parse_rows(str(path), rows, pools_by_cluster)


def _delimiter(text: str) -> str:
    """``;`` when the header is separated by semicolons (spreadsheets in locales whose
    decimal mark is a comma, as Vietnamese is), else ``,``."""
    header = next((line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
    return ";" if ";" in header and "," not in header else ","


def parse_rows(name: str, rows: list[list[str]], pools_by_cluster: Mapping[str, Iterable[str]]) -> History:
    rows = [[] if row and row[0].lstrip().startswith("#") else row for row in rows]
    header_at = next((i for i, row in enumerate(rows) if any(c.strip() for c in row)), None)
    if header_at is None:
        raise HistoryError(f"{name}: the history is empty (expected a header: {','.join(REQUIRED)},{STORAGE_PREFIX}<pool>…)")
    header = [h.strip() for h in rows[header_at]]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED and not c.startswith(STORAGE_PREFIX)]
    if missing or unknown:
        raise HistoryError(
            f"{name}: row {header_at + 1} (header): " + "; ".join(
                [f"missing column(s) {', '.join(missing)}"] * bool(missing) + [f"unknown column(s) {', '.join(unknown)}"] * bool(unknown)
            ),
            details=[f"expected: {','.join(REQUIRED)} and one {STORAGE_PREFIX}<pool> column per storage pool"],
        )
    columns = {c: header.index(c) for c in header}
    samples: dict[str, dict[Month, tuple[int, dict[str, float]]]] = {}
    for number, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{name}: row {number}"
        if len(row) != len(header):
            raise HistoryError(f"{where}: {len(row)} cells, the header has {len(header)}")
        cell = {c: row[i].strip() for c, i in columns.items()}
        try:
            month = parse_month(cell["month"])
        except ValueError as exc:
            raise HistoryError(f"{where}, column month: {exc}") from None
        cluster = cell["cluster"]
        if cluster not in pools_by_cluster:
            raise HistoryError(f"{where}, column cluster: unknown cluster {cluster!r} (the inventory has {', '.join(sorted(pools_by_cluster))})")
        pools = set(pools_by_cluster[cluster])
        values = {CPU: _number(where, "cpu_used_cores", cell["cpu_used_cores"]), RAM: _number(where, "ram_used_gib", cell["ram_used_gib"])}
        for column in header:
            if not column.startswith(STORAGE_PREFIX):
                continue
            pool = column.removeprefix(STORAGE_PREFIX)
            if pool in pools:
                values[storage_key(pool)] = _number(where, column, cell[column])
            elif cell[column]:
                raise HistoryError(f"{where}, column {column}: cluster {cluster} has no storage {pool!r} (leave the cell empty)")
        seen = samples.setdefault(cluster, {})
        if month in seen:
            raise HistoryError(f"{where}: a second sample for {cluster} in {month_str(month)} (first at row {seen[month][0]})")
        seen[month] = (number, values)
    if not samples:
        raise HistoryError(f"{name}: the history has a header but no samples")
    return {cluster: _series(name, cluster, by_month) for cluster, by_month in samples.items()}


def _number(where: str, column: str, text: str) -> float:
    if not text:
        raise HistoryError(f"{where}, column {column}: empty (every month needs a value)")
    try:
        value = float(text)
    except ValueError:
        raise HistoryError(f"{where}, column {column}: {text!r} is not a number") from None
    if value < 0 or value != value or value == float("inf"):
        raise HistoryError(f"{where}, column {column}: {text} is not a usage (must be a number ≥ 0)")
    return value


def _series(name: str, cluster: str, by_month: dict[Month, tuple[int, dict[str, float]]]) -> Series:
    months = sorted(by_month)
    for before, after in zip(months, months[1:]):
        if after != before + 1:
            gap = ", ".join(month_str(m) for m in range(before + 1, min(after, before + 4)))
            more = "…" if after - before > 4 else ""
            raise HistoryError(
                f"{name}: row {by_month[after][0]}: the history of {cluster} jumps from {month_str(before)} to {month_str(after)}",
                details=[f"missing month(s): {gap}{more}; a trend needs consecutive monthly samples (fill the gap, or start after it)"],
            )
    if len(months) < MIN_MONTHS:
        raise HistoryError(f"{name}: {cluster} has {len(months)} month(s) of history; a trend needs at least {MIN_MONTHS}")
    return Series(cluster, months[0], {key: tuple(by_month[m][1][key] for m in months) for key in by_month[months[0]][1]})


def history_table(history: Mapping[str, Series]) -> tuple[list[str], list[list[object]]]:
    """The samples in the form :func:`read_history` reads: a report's output carries the
    history it used (fetched from Prometheus, say), so it can be reproduced offline."""
    pools = sorted({key.removeprefix(STORAGE) for s in history.values() for key in s.values if key.startswith(STORAGE)})
    rows: list[list[object]] = []
    for cluster, series in history.items():
        for i, month in enumerate(series.months):
            cells: list[object] = [month_str(month), cluster, round(series.values[CPU][i], 3), round(series.values[RAM][i], 3)]
            rows.append(cells + [round(series.values[storage_key(p)][i], 3) if storage_key(p) in series.values else "" for p in pools])
    return [*REQUIRED, *(STORAGE_PREFIX + p for p in pools)], rows
