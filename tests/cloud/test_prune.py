"""Retention as PVE applies it (issue 27): hatang.cloud.prune marks like pve-storage's
prune_mark_backup_group, and the simulator's prunebackups endpoints use it."""

from __future__ import annotations

import calendar
import time

from hatang.cloud.apply import apply
from hatang.cloud.plan import plan
from hatang.cloud.prune import kept, parse_keep

from .conftest import guests, token_client, wait_task

DAY = 86400


def utc(y: int, m: int, d: int, h: int = 21) -> int:
    return calendar.timegm((y, m, d, h, 0, 0))


def test_a_period_an_earlier_option_covers_is_not_counted_again():
    daily = [utc(2026, 1, d) for d in range(1, 11)]  # 1-4 Jan: ISO week 1; 5-10 Jan: week 2
    assert kept(daily, {"keep-daily": 3, "keep-weekly": 2}) == {utc(2026, 1, 10), utc(2026, 1, 9), utc(2026, 1, 8), utc(2026, 1, 4)}
    twice = [utc(2026, 1, 10, 9), utc(2026, 1, 10, 21), utc(2026, 1, 9)]
    assert kept(twice, {"keep-daily": 2}) == {utc(2026, 1, 10, 21), utc(2026, 1, 9)}  # the newest of each day
    assert kept(daily, {}) == set(daily) and kept(daily, {"keep-all": 1, "keep-last": 1}) == set(daily)


def test_full_retention_of_each_class_policy(inv):
    two_years = [utc(2026, 1, 1) + i * DAY for i in range(730)]
    from hatang.cloud.backups import prune_backups

    counts = {c: len(kept(two_years, parse_keep(prune_backups(p)))) for c, p in inv.backup_policy_by_class.items()}
    assert counts == {"critical": 14 + 8 + 12, "standard": 7 + 4 + 6, "batch": 4 + 3}


def test_the_simulator_prunes_what_its_dry_run_marks(sim, inv):
    apply(inv, concurrency=8, plan=plan(inv, clusters=["pve-core"]), show_progress=False)
    admin = token_client(sim, "pve-core", "root@pam!admin", "Administrator")
    node = sorted({g["node"] for g in guests(admin)})[0]
    for _ in range(2):
        wait_task(admin, node, admin.nodes(node).vzdump.post(all=1, storage="backup-nfs"))
        time.sleep(1.1)  # a new archive name (stamped to the second)
    store = admin.nodes(node).storage("backup-nfs")
    marks = store.prunebackups.get(**{"prune-backups": "keep-last=1"})
    on_node = {g["vmid"] for g in guests(admin) if g["node"] == node}
    assert {m["vmid"] for m in marks} == on_node and len(marks) == 2 * len(on_node)
    newest = {v: max(m["ctime"] for m in marks if m["vmid"] == v) for v in on_node}
    assert all((m["mark"] == "keep") == (m["ctime"] == newest[m["vmid"]]) for m in marks)
    wait_task(admin, node, store.prunebackups.delete(**{"prune-backups": "keep-last=1"}))
    left = store.content.get(content="backup")
    assert sorted(a["vmid"] for a in left) == sorted(on_node)
