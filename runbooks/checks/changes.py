"""What changed on the device lately: pushes from the audit log, and backup diffs.

A change shortly before an alert is the first suspect, whether it was committed, failed
or was rolled back, so a recent change is a ``warn`` finding, never hidden behind ``ok``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hatang import audit
from hatang.runbooks.context import CheckContext, Outcome

LOOKBACK_H = 24
UNTOUCHED = ("unchanged", "would-change", "skipped")
"""Push outcomes that left the device as it was: not suspects."""
SHOWN = 5
DIFF_LINES = 20


def _since(ctx: CheckContext) -> tuple[float, datetime]:
    hours = ctx.param("lookback_h", LOOKBACK_H)
    return hours, ctx.now - timedelta(hours=hours)


def _stamp(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def device_push(record: dict, device: str) -> dict | None:
    """What one ``push`` audit record did to ``device`` (its per-device result), if anything."""
    for entry in record.get("devices", []):
        if isinstance(entry, dict) and entry.get("host") == device:
            return entry
    return None


def recent_pushes(ctx: CheckContext) -> Outcome:
    """The pushes that touched the device in the last ``lookback_h`` hours, newest first,
    each with its outcome (committed, rolled-back, failed…), who ran it and its diff."""
    hours, since = _since(ctx)
    pushes = []
    for record in audit.read("push"):
        when = _stamp(record.get("when"))
        entry = device_push(record, ctx.device)
        status = (entry or {}).get("data", {}).get("status", "?")
        if entry is not None and when is not None and when >= since and status not in UNTOUCHED:
            pushes.append({"when": record["when"], "who": record.get("who"), "status": status, "error": entry.get("error", ""), "diff": entry.get("diff", "")})
    pushes.reverse()
    data = {"lookback_h": hours, "count": len(pushes), "pushes": pushes[:SHOWN]}
    if not pushes:
        return Outcome("ok", f"no push to {ctx.device} in the last {hours:g} h", data=data)
    details = [_describe(push) for push in pushes[:SHOWN]]
    latest = pushes[0]
    details += [f"latest diff: {line}" for line in latest["diff"].splitlines()[:DIFF_LINES]]
    return Outcome("warn", f"{len(pushes)} push(es) in the last {hours:g} h; latest {latest['when']}: {latest['status']}", details=details, data=data)


#: Push outcomes where the router went back to its previous configuration, or may have.
REVERTED = ("rolled-back", "reverted", "unverified", "lost")


def recent_reverts(ctx: CheckContext) -> Outcome:
    """Whether a push in the last ``lookback_h`` hours was rolled back or reverted by the
    router's own timer (a change that cut its own management path), or could not be
    verified afterwards: the router may have run a bad configuration for a while."""
    hours, since = _since(ctx)
    reverts = []
    for record in audit.read("push"):
        when = _stamp(record.get("when"))
        entry = device_push(record, ctx.device) or {}
        status = entry.get("data", {}).get("status")
        if when is not None and when >= since and status in REVERTED:
            reverts.append({"when": record["when"], "who": record.get("who"), "status": status, "error": entry.get("error", "")})
    reverts.reverse()
    data = {"lookback_h": hours, "reverts": reverts[:SHOWN]}
    if not reverts:
        return Outcome("ok", f"no push to {ctx.device} was reverted in the last {hours:g} h", data=data)
    latest = reverts[0]
    return Outcome("warn", f"{len(reverts)} push(es) reverted in the last {hours:g} h; latest {latest['when']}: {latest['status']}",
                   details=[f"{r['when']} {r['status']} by {r['who']}: {r['error']}" for r in reverts[:SHOWN]], data=data)


def _describe(push: dict) -> str:
    lines = push["diff"].splitlines()
    added = sum(1 for line in lines if line.startswith("+"))
    removed = sum(1 for line in lines if line.startswith("-"))
    error = f": {push['error']}" if push["error"] else ""
    return f"{push['when']} {push['status']} by {push['who']} (+{added}/-{removed} lines){error}"


def backup_diff(ctx: CheckContext) -> Outcome:
    """The latest change of the device's backed-up configuration (the network room's
    git repository of backups), with its diff when it falls in the last ``lookback_h``."""
    from hatang.network.backup import history

    hours, since = _since(ctx)
    changes = history(ctx.device)
    if not changes:
        return Outcome("skip", f"no configuration backup of {ctx.device} yet ('hatang net backup' takes them)")
    latest = changes[0]
    data = {"lookback_h": hours, "latest": latest | {"diff": latest["diff"].splitlines()[:DIFF_LINES]}, "changes": len(changes)}
    when = _stamp(latest["date"])
    if when is None or when < since or len(changes) == 1:
        return Outcome("ok", f"backed-up configuration unchanged since {latest['date']}", data=data)
    diff = [line for line in latest["diff"].splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return Outcome("warn", f"configuration changed between backups at {latest['date']} ({len(diff)} line(s))", details=diff[:DIFF_LINES], data=data)
