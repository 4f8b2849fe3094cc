"""Backup storage growth (issue 27): what each class's retention keeps on its schedule
(the simulator's measured sizes: tests/cloud/test_backup_growth.py)."""

from __future__ import annotations

from hatang.cloud.capacity.backup_growth import MONTHS, archives_kept, backup_days
from hatang.inventory.load import load


def test_schedules_and_steady_state_retention():
    inv = load(None, "lab")
    assert backup_days("21:00") == list(range(7)) and backup_days("sat 23:00") == [5]
    assert backup_days("mon..fri 02:00") == [0, 1, 2, 3, 4] and backup_days("sat,sun") == [5, 6]
    for policy in inv.backup_policy_by_class.values():
        daily = len(backup_days(policy.schedule)) == 7
        full = (policy.keep_daily if daily else 0) + policy.keep_weekly + policy.keep_monthly
        assert archives_kept(policy, 24) == full  # after two years every keep-* is filled
        assert [archives_kept(policy, n) for n in MONTHS] == sorted(archives_kept(policy, n) for n in MONTHS)
