"""Backup freshness as Prometheus metrics, for node_exporter's textfile collector.

``hatang cloud backups --textfile /var/lib/prometheus/node-exporter/hatang_backups.prom``
(run by a timer, e.g. hourly) writes, per guest, the time of its newest backup (0 when
there is none) and its class's RPO; the rule ``HatangBackupStale`` fires when the first
is older than the second (monitoring/rules/hatang.rules.yml). The file is replaced
atomically (prometheus-client's ``write_to_textfile``: a temporary file, then a rename),
so the collector never reads half of it. The guest's labels: cluster, guest,
service_class and backup_job (not ``job``: Prometheus's own label).

``--every SECONDS`` makes the command its own timer (:func:`keep_writing`), where no
systemd runs one: the lab starts it beside a node_exporter reading the file
(``hatang.lab.monitoring``). A read that fails leaves the last file in place and is
retried on the next tick. Every file also holds the time it was written
(``hatang_backup_freshness_timestamp_seconds``): the rule ``HatangBackupFreshnessStale``
fires when it ages past 2 h (the timer stopped, the reads fail) or is absent (the file
or node_exporter gone), when ``HatangBackupStale``, blind, would resolve.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, write_to_textfile
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from hatang.cloud.backup_report import BackupState
from hatang.console import warn
from hatang.errors import HatangError

LABELS = ("cluster", "guest", "service_class", "backup_job")


class BackupCollector(Collector):
    def __init__(self, states: list[BackupState], written: float | None = None):
        self.states = states
        self.written = time.time() if written is None else written

    def collect(self) -> Iterator[GaugeMetricFamily]:
        last = GaugeMetricFamily("hatang_backup_last_success_timestamp_seconds",
                                 "UNIX time of the guest's newest backup archive (0: none).", labels=LABELS)
        rpo = GaugeMetricFamily("hatang_backup_rpo_seconds", "The recovery point objective of the guest's service class.",
                                labels=LABELS)
        size = GaugeMetricFamily("hatang_backup_size_bytes", "Size of the guest's newest backup archive.", labels=LABELS)
        for s in self.states:
            labels = [s.cluster, s.guest, s.service_class, s.job]
            last.add_metric(labels, float(s.last or 0))
            if s.rpo_h is not None:
                rpo.add_metric(labels, float(s.rpo_h * 3600))
            if s.size is not None:
                size.add_metric(labels, float(s.size))
        freshness = GaugeMetricFamily("hatang_backup_freshness_timestamp_seconds",
                                      "UNIX time hatang read the backups and wrote this file (alert HatangBackupFreshnessStale).")
        freshness.add_metric([], self.written)
        yield from (last, rpo, size, freshness)


def write_textfile(path: Path, states: list[BackupState], written: float | None = None) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BackupCollector(states, written))
    write_to_textfile(str(path), registry)


def keep_writing(read: Callable[[], list[BackupState]], path: Path, every_s: float, stop: threading.Event | None = None) -> int:
    """Write ``read()``'s freshness to ``path`` every ``every_s`` seconds until ``stop``
    is set (never, for a daemon: it ends with its process); returns the files written."""
    stop = stop or threading.Event()
    written = 0
    while not stop.is_set():
        try:
            write_textfile(path, read())
            written += 1
        except HatangError as exc:
            warn(f"backup freshness not refreshed, {path} left as it was: {exc.message}")
        stop.wait(every_s)
    return written
