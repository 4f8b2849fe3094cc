"""The notifications the webhook receiver kept, as a table (one row per alert) or JSON."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from hatang.console import print_json, print_table


def rows(records: list[dict[str, Any]]) -> list[list[str]]:
    table = []
    for number, record in enumerate(records, 1):
        when = datetime.fromtimestamp(record.get("received_at", 0), timezone.utc).strftime("%H:%M:%S")
        if record.get("kind") != "webhook":
            what = record.get("subject") or record.get("text", "")  # an email's subject, a Telegram message
            table.append([str(number), when, record.get("kind", ""), "", "", str(what)[:120], ""])
            continue
        for alert in record.get("alerts", []):
            labels, notes = alert.get("labels", {}), alert.get("annotations", {})
            table.append([str(number), when, record.get("receiver", ""), f"{record.get('status', '')}/{alert.get('status', '')}",
                          labels.get("alertname", ""), notes.get("summary", ""), notes.get("runbook_url", "")])
    return table


def show_pages(records: list[dict[str, Any]], *, as_json: bool) -> None:
    if as_json:
        print_json({"notifications": records, "count": len(records)})
        return
    print_table("Notifications received", ["#", "UTC", "receiver", "status", "alert", "summary", "runbook"], rows(records),
                caption=f"{len(records)} notifications")
