"""BAK-01 on a private-cloud guest: its PVE backup's freshness, the one ``hatang cloud
backups`` computes (:func:`hatang.cloud.backup_report.backup_states`: newest archive
against the class's RPO), handed to the control's check as its environment.

The check runs on the guest, which cannot ask PVE; hatang reads each cluster of the
audited guests once and gives each guest ``HATANG_GUEST_BACKUP`` (``fresh``, ``stale``,
``missing``, or ``unknown`` when the cluster cannot be read) with the ``found …`` and
``expected …`` texts. The hatang audit exports them before its script; ``hatang deploy
playbook`` writes them in the host variables the Ansible audit reads, so both audits
judge the same data. A host that is no guest of a cluster (a Proxmox node, a guest the
cluster does not hold) gets none and the check's PVE part does not apply to it.
"""

from __future__ import annotations

from collections.abc import Iterable

from hatang.cloud.backup_report import BackupState, backup_states
from hatang.deploy.baseline.controls import GUEST_BACKUP
from hatang.errors import HatangError
from hatang.inventory.inventory import Inventory, LinuxHost

FOUND, EXPECTED = f"{GUEST_BACKUP}_FOUND", f"{GUEST_BACKUP}_EXPECTED"


def _env(status: str, found: str, expected: str) -> dict[str, str]:
    return {GUEST_BACKUP: status, FOUND: found, EXPECTED: expected}


def state_env(s: BackupState) -> dict[str, str]:
    """A guest's freshness as BAK-01 reads it."""
    expected = (f"a backup within {s.rpo_h} h (RPO of class {s.service_class}, job {s.job or 'none'})" if s.rpo_h is not None
                else f"a backup policy for class {s.service_class}")
    if s.status == "missing":
        found = f"no PVE backup of {s.guest} (vmid {s.vmid} on {s.cluster})"
    else:
        found = f"newest PVE backup of {s.guest} {s.age_h} h old ({s.volid})"
    return _env(s.status, found, expected)


def freshness(inv: Inventory, hosts: Iterable[LinuxHost], now: float | None = None) -> dict[str, dict[str, str]]:
    """BAK-01's environment for each guest among ``hosts`` that its cluster holds, one
    read per cluster; a cluster that cannot be read leaves its guests ``unknown``."""
    guests = [h for h in hosts if h.kind == "vm" and h.cluster]
    out: dict[str, dict[str, str]] = {}
    for cluster in sorted({h.cluster for h in guests if h.cluster}):
        mine = [h.name for h in guests if h.cluster == cluster]
        try:
            states = {s.guest: s for s in backup_states(inv, [cluster], now=now)}
        except HatangError as exc:
            reason = exc.message.splitlines()[0] if exc.message else type(exc).__name__
            out.update({name: _env("unknown", f"the backups of {cluster} unreadable ({reason})",
                                   "a backup within its class's RPO") for name in mine})
            continue
        out.update({name: state_env(states[name]) for name in mine if name in states})
    return out
