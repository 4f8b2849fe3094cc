"""The freshness behind HatangBackupStale (issue 27): 'cloud backups --textfile' writes
per guest its newest backup time (0 when none) and RPO, and the runbook's
backup_freshness check names the late guests, from the same data."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from prometheus_client.parser import text_string_to_metric_families

from hatang.cloud.backup_metrics import keep_writing
from hatang.cloud.backup_report import BackupState
from hatang.errors import HatangError
from hatang.runbooks.checks import CHECKS
from hatang.runbooks.context import CheckContext, Subject

from .conftest import back_up_all_but_the_first_node, guests, wait_task
from .test_cli import run


def samples(path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            out.setdefault(sample.name, {})[sample.labels.get("guest", "")] = sample.value
    return out


def test_textfile_and_runbook_check_show_the_guests_a_failed_run_left_without_backup(sim, inv, tmp_path):
    admin, nodes = back_up_all_but_the_first_node(sim, inv)  # the first node's guests are not backed up
    late = {g["name"] for g in guests(admin) if g["node"] == nodes[0]}
    textfile = tmp_path / "hatang_backups.prom"
    assert run("backups", "--cluster", "pve-core", "--textfile", str(textfile)).returncode == 1
    metrics = samples(textfile)
    stamps = metrics["hatang_backup_last_success_timestamp_seconds"]
    assert {g for g, t in stamps.items() if t == 0} == late and len(stamps) == len(guests(admin))
    assert all(t > 0 for g, t in stamps.items() if g not in late)
    rpo = {c: p.rpo_hours * 3600 for c, p in inv.backup_policy_by_class.items()}
    assert set(metrics["hatang_backup_rpo_seconds"].values()) == set(rpo.values())
    assert set(metrics["hatang_backup_size_bytes"]) == set(stamps) - late

    ctx = CheckContext(inv, Subject("target", "core-iic"), "core-iic", None, {}, None, datetime.now(timezone.utc))  # type: ignore[arg-type]
    finding = CHECKS["backup_freshness"](ctx)
    assert finding.status == "fail" and f"{len(late)} of {len(stamps)} guests" in finding.summary
    assert {d["guest"] for d in finding.data["late"]} == late
    for node in nodes[:1]:
        wait_task(admin, node, admin.nodes(node).vzdump.post(all=1, storage="backup-nfs"))
    assert CHECKS["backup_freshness"](ctx).status == "ok"


def test_the_timer_rewrites_the_file_and_keeps_the_last_one_when_a_read_fails(tmp_path, capsys):
    state = BackupState("pve-core", "db-pg-01", 101, "critical", "hatang-bk-critical", 1767225600, 2.0, 24, 2**30, "backup-nfs:backup/x")
    stop = threading.Event()
    reads = iter([[state], HatangError("pve-core: cannot connect to the Proxmox API")])

    def read() -> list[BackupState]:
        got = next(reads)
        if isinstance(got, HatangError):
            stop.set()
            raise got
        return got

    textfile = tmp_path / "hatang_backups.prom"
    began = time.time()
    assert keep_writing(read, textfile, 0.01, stop) == 1
    assert samples(textfile)["hatang_backup_last_success_timestamp_seconds"] == {"db-pg-01": 1767225600}
    # the time of the one good write, kept by the failed read: HatangBackupFreshnessStale sees it age
    [written] = samples(textfile)["hatang_backup_freshness_timestamp_seconds"].values()
    assert began <= written <= time.time()
    assert "backup freshness not refreshed" in capsys.readouterr().err


def test_every_needs_a_textfile():
    proc = run("backups", "--every", "5")
    assert proc.returncode == 2 and "--every needs --textfile" in proc.stderr
