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


def test_backup_store_demand_from_retention_sizes_and_growth():
    """Hand-checked: crit-1 and crit-2 (critical: keep 7 daily, 4 weekly, 6 monthly on a
    daily schedule = 17 archives), std-1 (standard: 3 daily = 3 archives). crit-1 has a
    measured 30 GB archive; the others are estimated: archive_ratio × disks × the pool's
    fill (200 GB stored of 250 GB committed = 0.8). The pool's data doubles: so do the archives."""
    from dataclasses import replace

    from hatang.cloud.capacity.backup_demand import backup_stores, full_copies, guest_backups, with_backups
    from hatang.cloud.capacity.model import Demand
    from hatang.inventory import model as m

    from .conftest import small_cluster, vm

    cluster = small_cluster()
    cluster = cluster.model_copy(update={"storage": (*cluster.storage, m.Storage(name="bk", type="nfs", raw_gb=20000, content=("backup",)))})
    policies = {
        "critical": m.BackupPolicy(**{"class": "critical"}, schedule="21:00", storage="bk", keep_daily=7, keep_weekly=4, keep_monthly=6, rpo_hours=24),
        "standard": m.BackupPolicy(**{"class": "standard"}, schedule="22:00", storage="bk", keep_daily=3, keep_weekly=0, keep_monthly=0,
                                   rpo_hours=24, archive_ratio=0.5),
    }
    assert (full_copies(policies["critical"]), full_copies(policies["standard"])) == (17, 3)
    vms = [vm("crit-1", "critical", 2, 4, 100), vm("crit-2", "critical", 2, 4, 100), vm("std-1", "standard", 2, 4, 50),
           vm("batch-1", "batch", 2, 4, 50)]  # no policy for batch: not counted
    base = Demand(storage_gb={"ceph": 200.0}, committed_gb={"ceph": 250.0})
    guests = {g.guest: g for g in guest_backups(cluster, vms, policies, {"crit-1": 30 * 10**9}, base)}
    assert set(guests) == {"crit-1", "crit-2", "std-1"} and guests["crit-1"].measured and not guests["crit-2"].measured
    assert (guests["crit-1"].archive_gb, guests["crit-2"].archive_gb, guests["std-1"].archive_gb) == (30.0, 80.0, 20.0)
    months = [base, replace(base, storage_gb={"ceph": 400.0})]
    [store] = backup_stores(list(guests.values()), base, months)
    now = 17 * 30 + 17 * 80 + 3 * 20  # 1930 GB
    assert store.storage == "bk" and store.needs_gb == (now, 2 * now)
    assert store.as_dict() == {"storage": "bk", "guests": 3, "measured": 1, "copies": 37, "archives_gb": 130.0, "retained_gb": now,
                               "at_horizon_gb": 2 * now}
    assert [d.storage_need("bk") for d in with_backups(months, [store])] == [now, 2 * now]
    assert with_backups([replace(base, storage_gb={"ceph": 200.0, "bk": 5000.0})], [store])[0].storage_gb["bk"] == 5000  # a larger trend stays
    with_disk = replace(base, storage_gb={"ceph": 200.0, "bk": 1000.0}, committed_gb={"ceph": 250.0, "bk": 1000.0})
    assert with_backups([with_disk], [store])[0].storage_gb["bk"] == 1000 + now  # a disk on the store and the archives


def test_the_forecast_counts_the_backup_stores(tmp_path):
    """The example report: the backup store's need is at least what retention keeps of
    the estimated archives, measured sizes replace the estimates, and both are in --json."""
    from hatang.cloud.capacity.backup_demand import full_copies
    from hatang.cloud.capacity.report import build_report

    inv = load(None, "lab")
    dmz = [vm for vm in inv.vms() if vm.cluster == "pve-dmz"]
    estimated = build_report(inv, horizon_years=1, clusters=["pve-dmz"]).clusters[0]
    report = build_report(inv, horizon_years=1, clusters=["pve-dmz"], backup_sizes={vm.name: 10**9 for vm in dmz})
    measured = report.clusters[0]
    kept = sum(full_copies(inv.backup_policy_by_class[vm.service_class]) for vm in dmz)
    [store] = measured.backups
    assert store.as_dict()["measured"] == len(dmz) and store.as_dict()["retained_gb"] == kept  # 1 GB each
    assert measured.check("storage:backup-nfs", 0).need_first == kept  # no history: the store holds nothing else
    disks = sum(d.size_gb for vm in dmz for d in vm.spec.disks)  # no history: every disk full, no compression assumed
    assert estimated.backups[0].as_dict()["archives_gb"] == disks and estimated.check("storage:backup-nfs", 0).need_first > kept
    assert report.to_dict()["clusters"][0]["backups"] == [store.as_dict()]
