"""``hatang monitor poll``: run one poll of the inventory's routers and show it as a table."""

from __future__ import annotations

import asyncio
from typing import Any

from hatang.console import info, print_json, print_table, progress, status_mark, warn
from hatang.monitoring.poller import TargetResult, poll
from hatang.monitoring.targets import inventory_targets


def lab_routers(inv: Any) -> set[str] | None:
    """In the lab environment, the routers the recorded lab runs (a small lab has 5 of 146)."""
    if inv.env != "lab":
        return None
    from hatang.lab.context import read_state

    size = read_state().get("size")
    return {d.name for d in inv.lab_devices(size)} if size else None


def run_poll(inv: Any, *, site: str | None, module: str, version: str, timeout: float, retries: int, concurrency: int, show_progress: bool = True) -> list[TargetResult]:
    targets = inventory_targets(inv, site=site, version=version)
    running = lab_routers(inv)
    if running is not None:
        skipped = [t.name for t in targets if t.name not in running]
        targets = [t for t in targets if t.name in running]
        if skipped and show_progress:
            info(f"{len(skipped)} routers are not in the running lab and were not polled")
    with progress(f"polling {module}", len(targets), enabled=show_progress) as tick:
        return asyncio.run(poll(targets, module, timeout=timeout, retries=retries, concurrency=concurrency, on_result=lambda _: tick()))


def uptime(ticks: float | None) -> str:
    if ticks is None:
        return ""
    seconds = int(ticks // 100)
    days, rest = divmod(seconds, 86400)
    return f"{days}d {rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"


def summary_row(result: TargetResult) -> list[Any]:
    statuses = [s.value for s in result.samples if s.name == "ifOperStatus"]
    interfaces = f"{sum(1 for v in statuses if v == 1)}/{len(statuses)} up" if statuses else ""
    name = next((s.labels["sysName"] for s in result.samples if s.name == "sysName"), "")
    return [
        result.target, result.address, status_mark(result.ok), name, uptime(result.value("sysUpTime")), interfaces,
        len(result.samples), result.requests, f"{result.duration_s * 1000:.0f} ms", result.error,
    ]


def interface_rows(results: list[TargetResult]) -> list[list[Any]]:
    rows = []
    for result in results:
        for index, row in sorted(result.rows("ifIndex").items(), key=lambda item: int(item[0].split(".")[0])):
            rows.append([
                result.target, index, row.get("ifName", ""), row.get("ifAlias", ""),
                {1: "up", 2: "down"}.get(int(row.get("ifAdminStatus", 0)), row.get("ifAdminStatus", "")),
                {1: "up", 2: "down", 7: "lowerLayerDown"}.get(int(row.get("ifOperStatus", 0)), row.get("ifOperStatus", "")),
                row.get("ifHighSpeed", ""), int(row.get("ifHCInOctets", 0)), int(row.get("ifHCOutOctets", 0)),
                int(row.get("ifInErrors", 0) + row.get("ifOutErrors", 0)),
            ])
    return rows


def show_poll(results: list[TargetResult], module: str, *, as_json: bool, detail: bool) -> None:
    if as_json:
        print_json({"module": module, "results": [r.as_dict() for r in results]})
        return
    failed = sum(1 for r in results if not r.ok)
    print_table(
        f"SNMP poll, module {module}",
        ["device", "address", "ok", "sysName", "uptime", "interfaces", "samples", "requests", "time", "error"],
        [summary_row(r) for r in results],
        caption=f"{len(results) - failed} of {len(results)} answered",
    )
    for result in results:
        if result.value_errors:
            warn(f"{result.target}: {result.value_errors} value(s) of the wrong type left out, e.g. {result.value_error_examples[0]}")
    if detail and module == "if_mib":
        print_table("Interfaces", ["device", "ifIndex", "ifName", "ifAlias", "admin", "oper", "Mbit/s", "in octets", "out octets", "errors"], interface_rows(results))
