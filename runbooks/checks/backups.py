"""The private cloud's backups, for HatangBackupStale: which guests have no backup within
their class's RPO right now (the same freshness ``hatang cloud backups`` shows; reads
the Proxmox API only). It looks at the clusters, not at the runbook's target device."""

from __future__ import annotations

from hatang.errors import HatangError
from hatang.runbooks.context import CheckContext, Outcome

SHOWN = 10  # guests named in the summary; all of them are in the details


def backup_freshness(ctx: CheckContext) -> Outcome:
    """fail when a guest's newest backup is older than its RPO or missing; error when a
    cluster cannot be read."""
    from hatang.cloud.backup_report import backup_states

    try:
        states = backup_states(ctx.inv)
    except HatangError as exc:
        return Outcome("error", f"cannot read the backups of the private cloud: {exc.message}")
    late = [s for s in states if s.status != "fresh"]
    details = [f"{s.cluster} {s.guest}: {s.status}, {'no backup' if s.age_h is None else f'{s.age_h} h old'} (RPO {s.rpo_h} h, "
               f"job {s.job or 'none'})" for s in late]
    data = {"guests": len(states), "late": [s.as_dict() for s in late]}
    if not late:
        return Outcome("ok", f"all {len(states)} guests have a backup within their RPO", data=data)
    names = ", ".join(s.guest for s in late[:SHOWN]) + (f" and {len(late) - SHOWN} more" if len(late) > SHOWN else "")
    without_job = sum(1 for s in late if not s.job)
    return Outcome("fail", f"{len(late)} of {len(states)} guests have no backup within their RPO: {names}"
                   + (f" ({without_job} in no backup job)" if without_job else ""), details=details, data=data)
