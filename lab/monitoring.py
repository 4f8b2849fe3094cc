"""The lab's monitoring: hatang's SNMP exporter, Debian's Prometheus, blackbox_exporter
and Alertmanager, and hatang's webhook receiver standing in for the pager.

Prometheus' configuration is what ``hatang monitor config`` writes, limited to this
lab's routers, with 5 s probes and rule evaluation so a fault shows within seconds;
Alertmanager's is what ``hatang monitor alertmanager-config`` writes, with the receiver
as webhook and as Telegram's API. The private cloud's backup freshness (HatangBackupStale)
runs as in production: ``hatang cloud backups --textfile`` rewrites its file on a timer
(``--every``: the lab has no systemd) from the lab's Proxmox simulator, and Debian's
node_exporter, with its textfile collector alone, serves it to Prometheus. blackbox_exporter runs in the core router's namespace:
its ICMP probes leave from the IIC's core over the WAN, as the offices' traffic does, and
do not depend on the management network; Prometheus scrapes it on the core's
(data-center, out-of-band) management address. Data lives in the lab's state directory
(gone with ``lab down``), so restarts of any of them lose nothing.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from hatang.errors import HatangError
from hatang.lab.context import LabContext
from hatang.lab.topology import netns_of
from hatang.monitoring.alertmanager import AlertmanagerOptions, Receivers, Timing, write_alertmanager_config
from hatang.monitoring.promconfig import ConfigOptions, write_config

name = "monitoring"
requires = {
    "/usr/bin/prometheus": "prometheus", "/usr/bin/promtool": "prometheus",
    "/usr/bin/prometheus-blackbox-exporter": "prometheus-blackbox-exporter",
    "/usr/bin/prometheus-alertmanager": "prometheus-alertmanager", "/usr/bin/amtool": "prometheus-alertmanager",
    "/usr/bin/prometheus-node-exporter": "prometheus-node-exporter",
}

EXPORTER = "127.0.0.1:9116"
PROMETHEUS = "127.0.0.1:9090"
PROMETHEUS_URL = f"http://{PROMETHEUS}"
ALERTMANAGER = "127.0.0.1:9093"
ALERTMANAGER_URL = f"http://{ALERTMANAGER}"
RECEIVER = "127.0.0.1:9095"
RECEIVER_URL = f"http://{RECEIVER}"
RECEIVER_SMTP = "127.0.0.1:2525"
BLACKBOX_PORT = 9115
# Not a secret: the lab's Telegram "API" is its own receiver.
LAB_TELEGRAM = {"chat": -1000000000001, "token": "0:lab-telegram-bot"}
# The lab's routers are probed and its rules evaluated every 5 s, so the alerts of one
# outage (a district's and its communes') reach Alertmanager within one evaluation of each
# other: 15 s of group_wait holds three. A resolved page, or an alert joining an outage
# already paged, waits one group_interval: 10 s in the lab so tests and the demo see it
# soon, 5 min in production.
LAB_TIMING = Timing(group_wait="15s", group_interval="10s")
BLACKBOX_PROC = "monitoring:blackbox"
ALERTMANAGER_PROC = "monitoring:alertmanager"
RECEIVER_PROC = "monitoring:receiver"
# A short interval so a fault shows within seconds; the province's 146 routers get a
# longer one, so the lab's own monitoring does not take a core of a 2-core machine; the
# merged province's 547 twice as long again.
SCRAPE_INTERVALS = {"small": ("5s", "4s"), "district": ("5s", "4s"), "province": ("15s", "10s"), "merged": ("30s", "20s")}
EXPORTER_PROC = "monitoring:exporter"
NODE_EXPORTER = "127.0.0.1:9100"
NODE_EXPORTER_PROC = "monitoring:node-exporter"
BACKUP_TIMER_PROC = "monitoring:backup-timer"
#: How often the lab's timer rewrites the backup freshness (production: hourly).
BACKUP_TIMER_S = 10
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


def core_device(ctx: LabContext) -> str:
    """The lab's core router, where the IIC's prober stands."""
    cores = [d.name for d in ctx.devices if d.role.value == "core"]
    if not cores:
        raise HatangError("lab monitoring: the lab has no core router to probe from")
    return cores[0]


def blackbox_address(ctx: LabContext) -> str:
    return f"{ctx.inventory.mgmt(core_device(ctx)).ip}:{BLACKBOX_PORT}"


def start_blackbox(ctx: LabContext) -> None:
    log = ctx.path("monitoring") / "blackbox.log"
    ctx.spawn(
        BLACKBOX_PROC,
        ["/usr/bin/prometheus-blackbox-exporter", f"--config.file={config_dir(ctx) / 'blackbox.yml'}",
         f"--web.listen-address={blackbox_address(ctx)}"],
        netns=netns_of(core_device(ctx)), log=log,
    )
    _wait(f"http://{blackbox_address(ctx)}/metrics", "blackbox_exporter", log)


def alertmanager_dir(ctx: LabContext) -> Path:
    return ctx.path("monitoring", "alertmanager")


def start_alertmanager(ctx: LabContext) -> None:
    """Alertmanager with its silences and notification log in the lab's state directory,
    so a restart neither forgets what it sent nor sends it twice; no cluster."""
    log = ctx.path("monitoring") / "alertmanager.log"
    ctx.spawn(
        ALERTMANAGER_PROC,
        ["/usr/bin/prometheus-alertmanager", f"--config.file={alertmanager_dir(ctx) / 'alertmanager.yml'}",
         f"--storage.path={ctx.path('monitoring', 'alertmanager-data')}", f"--web.listen-address={ALERTMANAGER}",
         "--cluster.listen-address=", "--data.retention=168h"],
        cwd=alertmanager_dir(ctx), log=log,
    )
    _wait(f"{ALERTMANAGER_URL}/-/ready", "Alertmanager", log)


def start_receiver(ctx: LabContext) -> None:
    log = ctx.path("monitoring") / "receiver.log"
    ctx.spawn(
        RECEIVER_PROC,
        [sys.executable, "-m", "hatang.cli", "monitor", "receiver", "--listen", RECEIVER,
         "--store", str(ctx.path("monitoring", "receiver") / "received.jsonl"), "--smtp", RECEIVER_SMTP],
        log=log,
    )
    _wait(f"{RECEIVER_URL}/received", "the webhook receiver", log)


def start_exporter(ctx: LabContext) -> None:
    log = ctx.path("monitoring") / "exporter.log"
    ctx.spawn(
        EXPORTER_PROC,
        [sys.executable, "-m", "hatang.cli", "monitor", "serve", "--listen", EXPORTER, "--env", "lab",
         "--inventory", str(ctx.inventory.directory), "--timeout", "1", "--retries", "1"],
        log=log,
    )
    _wait(f"http://{EXPORTER}/metrics", "the SNMP exporter", log)


def textfile_dir(ctx: LabContext) -> Path:
    return ctx.path("monitoring", "textfile")


def start_backup_metrics(ctx: LabContext) -> None:
    """The backup freshness timer and the node_exporter that serves what it writes."""
    log = ctx.path("monitoring") / "backup-timer.log"
    ctx.spawn(
        BACKUP_TIMER_PROC,
        [sys.executable, "-m", "hatang.cli", "cloud", "backups", "--env", "lab", "--inventory", str(ctx.inventory.directory),
         "--textfile", str(textfile_dir(ctx) / "hatang_backups.prom"), "--every", str(BACKUP_TIMER_S)],
        log=log,
    )
    log = ctx.path("monitoring") / "node-exporter.log"
    ctx.spawn(
        NODE_EXPORTER_PROC,
        ["/usr/bin/prometheus-node-exporter", "--collector.disable-defaults", "--collector.textfile",
         f"--collector.textfile.directory={textfile_dir(ctx)}", f"--web.listen-address={NODE_EXPORTER}"],
        log=log,
    )
    _wait(f"http://{NODE_EXPORTER}/metrics", "node_exporter", log)


def start_prometheus(ctx: LabContext) -> None:
    """Prometheus with its TSDB in the lab's directory; it re-sends firing alerts every
    10 s, so an Alertmanager that was down gets them soon after it returns."""
    log = ctx.path("monitoring") / "prometheus.log"
    ctx.spawn(
        PROMETHEUS_PROC,
        ["/usr/bin/prometheus", f"--config.file={config_dir(ctx) / 'prometheus.yml'}",
         f"--storage.tsdb.path={ctx.path('monitoring', 'data')}", f"--web.listen-address={PROMETHEUS}",
         "--storage.tsdb.retention.time=7d", "--web.enable-lifecycle", "--rules.alert.resend-delay=10s"],
        cwd=config_dir(ctx),
        log=log,
    )
    _wait(f"{PROMETHEUS_URL}/-/ready", "Prometheus", log)


def up(ctx: LabContext) -> None:
    interval, timeout = SCRAPE_INTERVALS[ctx.size]
    options = ConfigOptions(exporter=EXPORTER, scrape_interval=interval, scrape_timeout=timeout,
                            blackbox=blackbox_address(ctx), alertmanager=ALERTMANAGER, backup_metrics=NODE_EXPORTER)
    write_config(ctx.inventory, config_dir(ctx), options, set(ctx.device_names))
    receivers = Receivers(webhook_url=f"{RECEIVER_URL}/hook", email_to="noc@iic.lab.invalid", smarthost=RECEIVER_SMTP,
                          telegram_chat_id=LAB_TELEGRAM["chat"], telegram_bot_token=LAB_TELEGRAM["token"], telegram_api_url=RECEIVER_URL)
    write_alertmanager_config(ctx.inventory, alertmanager_dir(ctx), AlertmanagerOptions(receivers, LAB_TIMING), set(ctx.device_names))
    start_receiver(ctx)
    start_alertmanager(ctx)
    start_blackbox(ctx)
    start_exporter(ctx)
    start_backup_metrics(ctx)
    start_prometheus(ctx)


def down(ctx: LabContext) -> None:
    for proc in (PROMETHEUS_PROC, ALERTMANAGER_PROC, RECEIVER_PROC, BLACKBOX_PROC, EXPORTER_PROC, NODE_EXPORTER_PROC, BACKUP_TIMER_PROC):
        ctx.stop(proc)


def status(ctx: LabContext) -> list[dict]:
    return [
        {"name": "exporter", "url": f"http://{EXPORTER}", "running": ctx.running(EXPORTER_PROC), "answers": _answers(f"http://{EXPORTER}/metrics")},
        {"name": "prometheus", "url": PROMETHEUS_URL, "running": ctx.running(PROMETHEUS_PROC), "answers": _answers(f"{PROMETHEUS_URL}/-/ready")},
        {"name": "blackbox", "url": f"http://{blackbox_address(ctx)}", "running": ctx.running(BLACKBOX_PROC), "answers": _answers(f"http://{blackbox_address(ctx)}/metrics")},
        {"name": "alertmanager", "url": ALERTMANAGER_URL, "running": ctx.running(ALERTMANAGER_PROC), "answers": _answers(f"{ALERTMANAGER_URL}/-/ready")},
        {"name": "receiver", "url": RECEIVER_URL, "running": ctx.running(RECEIVER_PROC), "answers": _answers(f"{RECEIVER_URL}/received")},
        {"name": "node-exporter", "url": f"http://{NODE_EXPORTER}", "running": ctx.running(NODE_EXPORTER_PROC), "answers": _answers(f"http://{NODE_EXPORTER}/metrics")},
        {"name": "backup-timer", "url": str(textfile_dir(ctx) / "hatang_backups.prom"), "running": ctx.running(BACKUP_TIMER_PROC),
         "answers": (textfile_dir(ctx) / "hatang_backups.prom").exists()},
    ]
