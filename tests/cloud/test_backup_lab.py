"""HatangBackupStale end to end in the small lab (issue 27): the lab's backup timer
('hatang cloud backups --textfile --every') reads the lab's Proxmox simulator, Debian's
node_exporter serves the file, Prometheus scrapes it and evaluates the rule. Guests
applied without a backup have their alert pending (its 15 minutes 'for' is promtool's
test) and fail the baseline audit's BAK-01; a forced backup ends the alert for the node's
guests. The guests are destroyed after,
so the session's other lab tests find the cluster as the lab made it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hatang.cloud.apply import apply
from hatang.cloud.destroy import destroy
from hatang.cloud.plan import plan
from hatang.deploy.baseline.audit import audit
from hatang.deploy.login import login
from hatang.deploy.targets import select
from hatang.inventory import load
from hatang.lab.monitoring import PROMETHEUS_URL
from hatang.monitoring.promconfig import BACKUP_JOB
from hatang.monitoring.sla import PrometheusApi

from waiting import eventually

from .conftest import directory_client, guests, wait_task

pytestmark = pytest.mark.lab
CLUSTER = "pve-dmz"
LAB_GUEST = "portal-web-01"  # a guest of pve-dmz the small lab runs as a server
WAIT_S = 90.0  # the timer's 10 s, a 5 s scrape, a 5 s rule evaluation, with room for a loaded machine


def test_a_guest_without_backup_makes_hatang_backup_stale_pending_until_backed_up(lab_small):
    inv = load(None, "lab")
    api = PrometheusApi(PROMETHEUS_URL)
    admin = directory_client(lab_small.path("pvesim"), CLUSTER, "root@pam!labtest", "Administrator")
    assert not guests(admin), f"{CLUSTER} of the lab already has guests: this test makes and destroys its own"
    try:
        report = apply(inv, concurrency=4, plan=plan(inv, clusters=[CLUSTER]), show_progress=False)
        made = {g["name"]: g["node"] for g in guests(admin)}
        assert report.ok and made

        def series(promql: str) -> set[str]:
            return {r["metric"]["guest"] for r in api.query(promql, datetime.now(timezone.utc))}

        def stale() -> dict[str, str]:
            return {a["labels"]["guest"]: a["state"] for a in api.alerts()
                    if a["labels"].get("alertname") == "HatangBackupStale" and a["labels"].get("cluster") == CLUSTER}

        def every_guest() -> dict[str, str] | None:
            found = stale()
            return found if set(found) == set(made) else None

        none = f'hatang_backup_last_success_timestamp_seconds{{job="{BACKUP_JOB}", cluster="{CLUSTER}"}} == 0'
        eventually(lambda: series(none) == set(made), f"every new guest of {CLUSTER} in Prometheus with no backup", timeout=WAIT_S)
        assert eventually(every_guest, "HatangBackupStale for each", timeout=WAIT_S) == {g: "pending" for g in made}  # 'for: 15m'
        # the baseline audit's BAK-01 on the lab's server of that name reads the same freshness
        audited = audit(inv, select(inv, [LAB_GUEST]), login("lab"), show_progress=False).by_host[LAB_GUEST]
        bak = next(c for c in audited.data["controls"] if c["id"] == "BAK-01")
        assert not bak["passed"] and bak["message"].startswith(f"found no PVE backup of {LAB_GUEST} (vmid ")

        node = sorted(set(made.values()))[0]
        assert wait_task(admin, node, admin.nodes(node).vzdump.post(all=1, storage="backup-nfs"), timeout_s=60)["exitstatus"] == "OK"
        backed = {g for g, n in made.items() if n == node}
        done = f'hatang_backup_last_success_timestamp_seconds{{job="{BACKUP_JOB}", cluster="{CLUSTER}"}} > 0'
        eventually(lambda: series(done) == backed, f"the guests of {node} backed up in Prometheus", timeout=WAIT_S)
        eventually(lambda: set(stale()) == set(made) - backed, f"HatangBackupStale ended for the guests of {node} only", timeout=WAIT_S)
    finally:
        for name in sorted({g["name"] for g in guests(admin)}):
            destroy(inv, name, confirm=lambda question: True)
