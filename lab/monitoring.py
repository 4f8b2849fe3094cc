"""The lab's monitoring: hatang's SNMP exporter and Debian's Prometheus, on loopback only.

Prometheus' configuration is what ``hatang monitor config`` writes, limited to this
lab's routers, with a 5 s scrape and evaluation interval so a fault shows within
seconds. Its data lives in the lab's state directory (gone with ``lab down``).
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from hatang.errors import HatangError
from hatang.lab.context import LabContext
from hatang.monitoring.promconfig import ConfigOptions, write_config

name = "monitoring"
requires = {"/usr/bin/prometheus": "prometheus", "/usr/bin/promtool": "prometheus"}

EXPORTER = "127.0.0.1:9116"
PROMETHEUS = "127.0.0.1:9090"
PROMETHEUS_URL = f"http://{PROMETHEUS}"
# A short interval so a fault shows within seconds; the province's 146 routers get a
# longer one, so the lab's own monitoring does not take a core of a 2-core machine.
SCRAPE_INTERVALS = {"small": ("5s", "4s"), "district": ("5s", "4s"), "province": ("15s", "10s")}
EXPORTER_PROC = "monitoring:exporter"
PROMETHEUS_PROC = "monitoring:prometheus"
READY_WAIT_S = 30.0


def config_dir(ctx: LabContext) -> Path:
    return ctx.path("monitoring", "prometheus")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait(url: str, what: str, log: Path) -> None:
    deadline = time.monotonic() + READY_WAIT_S
    while not _answers(url):
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace").splitlines()[-5:] if log.exists() else []
            raise HatangError(f"lab monitoring: {what} did not answer {url} within {READY_WAIT_S:.0f}s", details=tail)
        time.sleep(0.2)


def up(ctx: LabContext) -> None:
    base = ctx.path("monitoring")
    interval, timeout = SCRAPE_INTERVALS[ctx.size]
    options = ConfigOptions(exporter=EXPORTER, scrape_interval=interval, scrape_timeout=timeout)
    write_config(ctx.inventory, config_dir(ctx), options, set(ctx.device_names))
    exporter_log = base / "exporter.log"
    ctx.spawn(
        EXPORTER_PROC,
        [sys.executable, "-m", "hatang.cli", "monitor", "serve", "--listen", EXPORTER, "--env", "lab",
         "--inventory", str(ctx.inventory.directory), "--timeout", "1", "--retries", "1"],
        log=exporter_log,
    )
    prometheus_log = base / "prometheus.log"
    ctx.spawn(
        PROMETHEUS_PROC,
        ["/usr/bin/prometheus", f"--config.file={config_dir(ctx) / 'prometheus.yml'}",
         f"--storage.tsdb.path={ctx.path('monitoring', 'data')}", f"--web.listen-address={PROMETHEUS}",
         "--storage.tsdb.retention.time=7d", "--web.enable-lifecycle"],
        cwd=config_dir(ctx),
        log=prometheus_log,
    )
    _wait(f"http://{EXPORTER}/metrics", "the SNMP exporter", exporter_log)
    _wait(f"{PROMETHEUS_URL}/-/ready", "Prometheus", prometheus_log)


def down(ctx: LabContext) -> None:
    ctx.stop(PROMETHEUS_PROC)
    ctx.stop(EXPORTER_PROC)


def status(ctx: LabContext) -> list[dict]:
    return [
        {"name": "exporter", "url": f"http://{EXPORTER}", "running": ctx.running(EXPORTER_PROC), "answers": _answers(f"http://{EXPORTER}/metrics")},
        {"name": "prometheus", "url": PROMETHEUS_URL, "running": ctx.running(PROMETHEUS_PROC), "answers": _answers(f"{PROMETHEUS_URL}/-/ready")},
    ]
