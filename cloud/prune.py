"""Which backups a ``prune-backups`` setting keeps, as PVE decides it.

pve-storage src/PVE/Storage.pm ``prune_mark_backup_group``: newest first, each option in
turn (keep-last, -hourly, -daily, -weekly, -monthly, -yearly) keeps the newest backup of
each of its N most recent periods that no backup kept by an earlier option already
covers; the other backups of a period it counts are removed; what no option keeps is
removed. No positive option (or keep-all) keeps everything. Periods are taken in UTC
here (PVE uses the node's local time: the same on a node set to UTC). Used by the
simulator's prune endpoint and by the capacity room's backup growth.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

PERIODS: tuple[tuple[str, Callable[[int], str]], ...] = (
    ("keep-last", lambda t: str(t)),
    ("keep-hourly", lambda t: time.strftime("%Y/%m/%d/%H", time.gmtime(t))),
    ("keep-daily", lambda t: time.strftime("%Y/%m/%d", time.gmtime(t))),
    ("keep-weekly", lambda t: time.strftime("%G/%V", time.gmtime(t))),
    ("keep-monthly", lambda t: time.strftime("%Y/%m", time.gmtime(t))),
    ("keep-yearly", lambda t: time.strftime("%Y", time.gmtime(t))),
)


def parse_keep(text: str) -> dict[str, int]:
    """``keep-daily=7,keep-weekly=4`` → {"keep-daily": 7, "keep-weekly": 4}."""
    return {key.strip(): int(value) for key, _, value in (p.partition("=") for p in text.split(",") if p.strip())}


def kept(ctimes: Iterable[int], keep: Mapping[str, int]) -> set[int]:
    """The ctimes (one backup group: one guest's archives) the setting keeps."""
    newest_first = sorted(set(ctimes), reverse=True)
    if keep.get("keep-all") or not any(keep.get(name, 0) > 0 for name, _ in PERIODS):
        return set(newest_first)
    mark: dict[int, bool] = {}
    for name, period in PERIODS:
        count = keep.get(name, 0)
        if count <= 0:
            continue
        covered = {period(t) for t, keep_it in mark.items() if keep_it}
        chosen: set[str] = set()
        for ctime in newest_first:
            key = period(ctime)
            if ctime in mark or key in covered:
                continue
            if key in chosen:
                mark[ctime] = False
            elif len(chosen) < count:
                chosen.add(key)
                mark[ctime] = True
            else:
                break
    return {t for t, keep_it in mark.items() if keep_it}
