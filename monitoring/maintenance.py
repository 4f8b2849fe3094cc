"""Planned maintenance windows: declared in a YAML file, kept apart in the SLA report.

The file (``inventory/maintenance.yaml`` by default, ``--maintenance FILE``)::

    windows:
      - id: CR-2026-041                 # the change record
        start: 2026-12-05T01:00:00Z     # UTC (an offset is converted)
        end: 2026-12-05T02:00:00Z
        scope: [cpe-tich-son, vinh-yen] # devices, sites or districts (a district: its routers)
        reason: replace the media converter

Policy (``--planned``): ``exclude`` (the default, the province's SLA practice: declared
and announced work is not downtime) or ``include`` (counted as downtime). Either way the
planned part of every outage is listed, with its window, and an outage that runs past
its window is split: only the part inside is planned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from hatang.errors import HatangError

POLICIES = ("exclude", "include")
MAX_WINDOWS = 10_000
MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class Window:
    id: str
    start: datetime
    end: datetime
    devices: frozenset[str]
    reason: str = ""


def _moment(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise HatangError(f"{where}: '{value}' is not an ISO date-time") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _devices(inv: Any, scope: Any, where: str) -> frozenset[str]:
    if not isinstance(scope, list) or not scope:
        raise HatangError(f"{where}.scope: a non-empty list of devices, sites or districts")
    names: set[str] = set()
    for item in scope:
        item = str(item)
        routers = {d.name for d in inv.routers()}
        if item in routers:
            names.add(item)
            continue
        district = next((d for d in inv.district_by_code.values() if d.slug == item), None)
        if district is not None:
            names |= {n for n in routers if inv.sites[inv.device(n).site].district == district.code}
            continue
        if item in inv.sites:
            names |= {d.name for d in inv.devices_by_site.get(item, []) if d.name in routers}
            continue
        raise HatangError(f"{where}.scope: '{item}' is no device, site or district of the inventory")
    return frozenset(names)


def load_windows(inv: Any, path: Path | None) -> list[Window]:
    """The declared windows; none when ``path`` is None or (the default file) absent."""
    if path is None or not path.exists():
        return []
    if path.stat().st_size > MAX_FILE_BYTES:
        raise HatangError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise HatangError(f"{path}: not valid YAML", details=[str(exc)]) from None
    entries = doc.get("windows") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or len(entries) > MAX_WINDOWS:
        raise HatangError(f"{path}: expected 'windows:' with a list of at most {MAX_WINDOWS} windows")
    windows = []
    for index, entry in enumerate(entries):
        where = f"{path}: windows[{index}]"
        if not isinstance(entry, dict) or not {"id", "start", "end", "scope"} <= set(entry):
            raise HatangError(f"{where}: needs id, start, end and scope")
        unknown = set(entry) - {"id", "start", "end", "scope", "reason"}
        if unknown:
            raise HatangError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        start, end = _moment(entry["start"], f"{where}.start"), _moment(entry["end"], f"{where}.end")
        if end <= start:
            raise HatangError(f"{where}: end ({end.isoformat()}) must be after start ({start.isoformat()})")
        windows.append(Window(str(entry["id"]), start, end, _devices(inv, entry["scope"], where), str(entry.get("reason", ""))))
    return windows


def split(device: str, start: datetime, end: datetime, windows: list[Window]) -> list[tuple[datetime, datetime, Window | None]]:
    """[start, end) cut at the edges of ``device``'s windows: (from, to, window or None)."""
    mine = sorted((w for w in windows if device in w.devices and w.start < end and w.end > start), key=lambda w: w.start)
    pieces: list[tuple[datetime, datetime, Window | None]] = []
    cursor = start
    for window in mine:
        inside_from, inside_to = max(cursor, window.start), min(end, window.end)
        if inside_to <= cursor:
            continue
        if inside_from > cursor:
            pieces.append((cursor, inside_from, None))
        pieces.append((inside_from, inside_to, window))
        cursor = inside_to
    if cursor < end:
        pieces.append((cursor, end, None))
    return pieces
