"""``hatang monitor …`` (poll, serve, config) and ``hatang sla …`` (availability reports)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from hatang.options import DEFAULT_ENV, DEFAULT_INVENTORY_DIR, EnvOpt, InventoryOpt, JsonOpt

app = typer.Typer(help="SNMP polling, the Prometheus exporter and its configuration.", no_args_is_help=True)
sla_app = typer.Typer(help="Availability reports from Prometheus, against the 99.9% objective.", no_args_is_help=True)

ModuleOpt = Annotated[str, typer.Option("--module", "-m", help="SNMP module: system, if_mib or host.")]
VersionOpt = Annotated[str, typer.Option("--snmp-version", help="v3 (authPriv SHA/AES) or v2c.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to wait for each SNMP answer.")]
RetriesOpt = Annotated[int, typer.Option("--retries", help="Retries per SNMP request.")]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", help="Targets polled at the same time.")]


@app.command()
def poll(
    site: Annotated[Optional[str], typer.Option("--site", "-s", help="Only this site (slug, GSO code or device).")] = None,
    module: ModuleOpt = "if_mib",
    snmp_version: VersionOpt = "v3",
    timeout: TimeoutOpt = 2.0,
    retries: RetriesOpt = 1,
    concurrency: ConcurrencyOpt = 32,
    inventory: InventoryOpt = DEFAULT_INVENTORY_DIR,
    env: EnvOpt = DEFAULT_ENV,
    json: JsonOpt = False,
) -> None:
    """Poll every router (or one site's) once with a module and show what each answered."""
    from hatang.inventory import load
    from hatang.monitoring.pollview import run_poll, show_poll

    inv = load(inventory, env)
    results = run_poll(inv, site=site, module=module, version=snmp_version, timeout=timeout, retries=retries, concurrency=concurrency, show_progress=not json)
    show_poll(results, module, as_json=json, detail=site is not None)
    if any(not r.ok for r in results):
        raise typer.Exit(1)


@app.command()
def serve(
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to listen on.")] = "127.0.0.1:9116",
    snmp_version: VersionOpt = "v3",
    timeout: TimeoutOpt = 2.0,
    retries: RetriesOpt = 1,
    concurrency: ConcurrencyOpt = 64,
    workers: Annotated[int, typer.Option("--workers", help="Processes sharing the port (SNMP decoding uses one core each).")] = 1,
    allow_target: Annotated[Optional[list[str]], typer.Option("--allow-target", help="Also poll any address of this network (CIDR; repeatable). Default: the inventory's devices only.")] = None,
    allow_v2c: Annotated[bool, typer.Option("--allow-v2c", help="Serve SNMPv2c in production (community in clear).")] = False,
    inventory: InventoryOpt = DEFAULT_INVENTORY_DIR,
    env: EnvOpt = DEFAULT_ENV,
) -> None:
    """Serve /snmp?target=…&module=… (snmp_exporter's pattern), /inventory and /metrics."""
    from hatang.inventory import load
    from hatang.monitoring.serve import run_server

    run_server(load(inventory, env), listen=listen, version=snmp_version, timeout=timeout, retries=retries, concurrency=concurrency,
               workers=workers, allow_targets=allow_target or (), allow_v2c=allow_v2c)


@app.command()
def config(
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write prometheus.yml, targets/ and rules/ into.")],
    exporter: Annotated[str, typer.Option("--exporter", help="Address Prometheus scrapes the exporter at.")] = "127.0.0.1:9116",
    blackbox: Annotated[str, typer.Option("--blackbox", help="Address of blackbox_exporter, which probes every loopback.")] = "127.0.0.1:9115",
    alertmanager: Annotated[str, typer.Option("--alertmanager", help="Alertmanager's address ('' for none).")] = "127.0.0.1:9093",
    backup_metrics: Annotated[str, typer.Option("--backup-metrics", help="node_exporter whose textfile collector reads 'hatang cloud backups --textfile' (HatangBackupStale); '' for none.")] = "127.0.0.1:9100",
    runbook_base: Annotated[Optional[str], typer.Option("--runbook-base", help="Base URL of the runbooks (default: the IIC git server placeholder).")] = None,
    scrape_interval: Annotated[str, typer.Option("--scrape-interval", help="Prometheus scrape and evaluation interval.")] = "30s",
    scrape_timeout: Annotated[str, typer.Option("--scrape-timeout", help="Prometheus scrape timeout (at most the interval).")] = "10s",
    lab_size: Annotated[Optional[str], typer.Option("--lab-size", help="Only the routers of a lab of this size (small, district, province).")] = None,
    snmp_exporter: Annotated[bool, typer.Option("--snmp-exporter", help="Also write snmp.yml for Debian's prometheus-snmp-exporter (same modules).")] = False,
    check: Annotated[bool, typer.Option("--check/--no-check", help="Run 'promtool check config' on the result.")] = True,
    inventory: InventoryOpt = DEFAULT_INVENTORY_DIR,
    env: EnvOpt = DEFAULT_ENV,
    json: JsonOpt = False,
) -> None:
    """Write Prometheus' configuration for the inventory: scrape jobs, file_sd targets, alert rules."""
    from hatang.console import info, print_json
    from hatang.errors import HatangError
    from hatang.inventory import load
    from hatang.monitoring import promconfig
    from hatang.monitoring.promtool import check_config
    from hatang.monitoring.snmp_exporter_yml import write_snmp_yml

    inv = load(inventory, env)
    devices = {d.name for d in inv.lab_devices(lab_size)} if lab_size else None
    options = promconfig.ConfigOptions(
        exporter=exporter, runbook_base=runbook_base or promconfig.DEFAULT_RUNBOOK_BASE,
        scrape_interval=scrape_interval, scrape_timeout=scrape_timeout, blackbox=blackbox, alertmanager=alertmanager or None,
        backup_metrics=backup_metrics or None,
    )
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HatangError(f"cannot create the output directory {output}: {exc.strerror}", exit_code=2) from None
    written = promconfig.write_config(inv, output, options, devices)
    if snmp_exporter:
        written.append(write_snmp_yml(output / "snmp.yml", inv.env, ["system", "if_mib"]))
    checked = check_config(output / "prometheus.yml") if check else None
    if json:
        print_json({"files": [str(p) for p in written], "promtool_check": checked})
        return
    for path in written:
        info(f"wrote {path}")
    if checked:
        info(f"promtool check config: {checked}")


@sla_app.command()
def report(
    start: Annotated[datetime, typer.Option("--from", help="Start of the period (ISO date or date-time, UTC).")],
    end: Annotated[datetime, typer.Option("--to", help="End of the period (ISO date or date-time, UTC).")],
    prometheus: Annotated[str, typer.Option("--prometheus", envvar="HATANG_PROMETHEUS_URL", help="Prometheus base URL.")] = "http://127.0.0.1:9090",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Also write availability.csv, availability.html and the chart here.")] = None,
    step: Annotated[Optional[str], typer.Option("--step", help="Resolution of the availability samples (default: the rule evaluation interval Prometheus reports).")] = None,
    maintenance: Annotated[Optional[Path], typer.Option("--maintenance", help="Planned maintenance windows (default: maintenance.yaml in the inventory, if any).")] = None,
    planned: Annotated[str, typer.Option("--planned", help="exclude: planned outages are not downtime; include: they are.")] = "exclude",
    inventory: InventoryOpt = DEFAULT_INVENTORY_DIR,
    env: EnvOpt = DEFAULT_ENV,
    json: JsonOpt = False,
) -> None:
    """Availability per 2025 unit, per network region (former district), per commune and
    per service over a period, and every outage interval with its cause, from Prometheus."""
    from hatang.errors import HatangError
    from hatang.inventory import load
    from hatang.monitoring.maintenance import POLICIES, load_windows
    from hatang.monitoring.sla import build_report
    from hatang.monitoring.sla_output import show_report, write_report

    if planned not in POLICIES:
        raise HatangError(f"--planned must be one of {', '.join(POLICIES)}, not '{planned}'", exit_code=2)
    inv = load(inventory, env)
    if maintenance is not None and not maintenance.exists():
        raise HatangError(f"--maintenance {maintenance}: no such file", exit_code=2)
    windows = load_windows(inv, maintenance or inv.directory / "maintenance.yaml")
    result = build_report(inv, prometheus, start, end, step=step, windows=windows, planned_policy=planned)
    show_report(result, as_json=json)
    if output:
        write_report(result, output)


@app.command("alertmanager-config")
def alertmanager_config(
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write alertmanager.yml and templates/ into.")],
    webhook: Annotated[str, typer.Option("--webhook", help="URL every notification is posted to (the NOC's log or paging gateway).")],
    email_to: Annotated[Optional[str], typer.Option("--email-to", help="Address warnings (tickets) are mailed to.")] = None,
    smtp: Annotated[Optional[str], typer.Option("--smtp", help="SMTP smarthost HOST:PORT for --email-to.")] = None,
    telegram_chat: Annotated[Optional[int], typer.Option("--telegram-chat", help="Telegram chat id pages go to (bot token from $HATANG_TELEGRAM_BOT_TOKEN).")] = None,
    lab_size: Annotated[Optional[str], typer.Option("--lab-size", help="Only the routers of a lab of this size.")] = None,
    inventory: InventoryOpt = DEFAULT_INVENTORY_DIR,
    env: EnvOpt = DEFAULT_ENV,
    json: JsonOpt = False,
) -> None:
    """Write Alertmanager's configuration: routes by severity and area, grouping by area,
    inhibition from the topology; checked with 'amtool check-config'."""
    import os

    from hatang.console import info, print_json
    from hatang.inventory import load
    from hatang.monitoring.alertmanager import AlertmanagerOptions, Receivers, write_alertmanager_config

    inv = load(inventory, env)
    devices = {d.name for d in inv.lab_devices(lab_size)} if lab_size else None
    receivers = Receivers(webhook_url=webhook, email_to=email_to, smarthost=smtp, telegram_chat_id=telegram_chat,
                          telegram_bot_token=os.environ.get("HATANG_TELEGRAM_BOT_TOKEN"))
    path = write_alertmanager_config(inv, output, AlertmanagerOptions(receivers), devices)
    if json:
        print_json({"file": str(path), "amtool_check": "SUCCESS"})
        return
    info(f"wrote {path} (amtool check-config: SUCCESS)")


@app.command()
def receiver(
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to listen on.")] = "127.0.0.1:9095",
    store: Annotated[Path, typer.Option("--store", help="JSON Lines file the notifications are kept in.")] = Path("received.jsonl"),
    smtp: Annotated[Optional[str], typer.Option("--smtp", help="Also accept mail (an SMTP sink) on HOST:PORT.")] = None,
) -> None:
    """Run a webhook receiver that keeps every notification (the lab's paging gateway)."""
    from hatang.monitoring.receiver import serve as serve_receiver

    serve_receiver(listen, store, smtp)


@app.command()
def pages(
    receiver_url: Annotated[str, typer.Option("--receiver", envvar="HATANG_RECEIVER_URL", help="The webhook receiver's base URL.")] = "http://127.0.0.1:9095",
    every: Annotated[bool, typer.Option("--all", help="Every notification (resolved, tickets, Telegram), not only pages.")] = False,
    since: Annotated[Optional[datetime], typer.Option("--since", help="Only what arrived after this time (UTC).")] = None,
    json: JsonOpt = False,
) -> None:
    """Who was paged, and with what: the notifications the webhook receiver kept."""
    from hatang.monitoring.pagesview import show_pages
    from hatang.monitoring.receiver import pages as only_pages
    from hatang.monitoring.receiver import received
    from hatang.monitoring.sla import as_utc

    records = received(receiver_url)
    start = as_utc(since).timestamp() if since else 0.0
    chosen = [r for r in records if r.get("received_at", 0) >= start] if every else only_pages(records, start)
    show_pages(chosen, as_json=json)
