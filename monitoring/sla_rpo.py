"""RPO compliance per private-cloud service over the SLA report's period (issue 27).

From the series ``hatang cloud backups --textfile`` feeds (cloud/backup_metrics.py): for
each guest, the share of the period during which its newest backup was within its
class's RPO, evaluated at the report's step (a subquery: ``time()`` is each step's
time). A service is as compliant as its worst guest; a guest of the inventory without
series is reported as not measured, never as compliant.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hatang.monitoring.sla import PrometheusApi

WITHIN = ("time() - hatang_backup_last_success_timestamp_seconds <= bool hatang_backup_rpo_seconds")


@dataclass(frozen=True)
class RpoFigures:
    service: str
    title: str
    guests: int
    measured: int
    worst_guest: str
    within_rpo_pct: float | None  # the worst measured guest's share of the period within its RPO

    @property
    def compliant(self) -> bool:
        return self.measured == self.guests and self.within_rpo_pct == 100.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "compliant": self.compliant}


def rpo_figures(api: "PrometheusApi", inv: Any, start: datetime, end: datetime, step_s: float) -> list[RpoFigures]:
    window, step = max(1, int((end - start).total_seconds())), max(1, int(step_s))
    answer = api.query(f"avg by (guest) (avg_over_time(({WITHIN})[{window}s:{step}s]))", end)
    share = {r["metric"].get("guest", ""): float(r["value"][1]) * 100 for r in answer}
    by_service: dict[str, list[str]] = {}
    for vm in inv.vms():
        by_service.setdefault(vm.service, []).append(vm.name)
    out = []
    for service in sorted(inv.service_by_name.values(), key=lambda s: s.name):
        names = by_service.get(service.name, [])
        measured = sorted((share[n], n) for n in names if n in share)
        worst = measured[0] if measured else (None, "")
        out.append(RpoFigures(service.name, service.title_en, len(names), len(measured), worst[1],
                              None if worst[0] is None else round(worst[0], 2)))
    return out
