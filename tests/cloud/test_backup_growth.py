"""Backup storage growth (issue 27) from the simulator's measured archive sizes, through
'hatang capacity report --live'."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hatang.cloud.apply import apply
from hatang.cloud.capacity.backup_demand import full_copies
from hatang.cloud.capacity.backup_growth import archives_kept, growth
from hatang.cloud.plan import plan

from .conftest import guests, token_client, wait_task


def test_growth_from_measured_sizes_on_the_simulator(sim, inv, tmp_path):
    apply(inv, concurrency=8, plan=plan(inv, clusters=["pve-core"]), show_progress=False)
    admin = token_client(sim, "pve-core", "root@pam!admin", "Administrator")
    for node in sorted({g["node"] for g in guests(admin)}):
        wait_task(admin, node, admin.nodes(node).vzdump.post(all=1, storage="backup-nfs"))
    sizes = {a["vmid"]: a["size"] for a in admin.nodes("pve-core-01").storage("backup-nfs").content.get(content="backup")}
    [store] = growth(inv, ["pve-core"])
    assert (store.storage, store.measured, store.guests) == ("backup-nfs", len(sizes), len(guests(admin)))
    assert store.newest_gb == round(sum(sizes.values()) / 1e9, 1)
    by_vmid = {g["vmid"]: g["name"] for g in guests(admin)}
    policy = {vm.name: inv.backup_policy_by_class[vm.service_class] for vm in inv.vms()}
    expected = sum(size * archives_kept(policy[by_vmid[v]], 24) for v, size in sizes.items())
    assert store.retained_gb[24] == round(expected / 1e9, 1) and store.retained_gb[24] > store.newest_gb
    assert store.usable_gb and store.usable_gb > 0
    run = subprocess.run([sys.executable, "-m", "hatang.cli", "capacity", "report", "--live", "--cluster", "pve-core",
                          "--no-drivers", "--json"], capture_output=True, text=True, env=os.environ.copy(), timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["backup_growth"] == [store.as_dict()]
    # the forecast's backup store: every guest's measured archive × what its retention keeps once full
    [core] = data["clusters"]
    [backups] = core["backups"]
    kept = sum(size * full_copies(policy[by_vmid[v]]) for v, size in sizes.items())
    assert (backups["measured"], backups["retained_gb"]) == (len(sizes), round(kept / 1e9, 1))
    need = next(o["need_now"] for o in core["outlook"] if o["resource"] == "storage:backup-nfs" and o["rule"] == "N")
    live = core["live"]
    assert need == pytest.approx(max(kept / 1e9 + live["committed_gb"].get("backup-nfs", 0), live["storage_gb"].get("backup-nfs", 0)))
