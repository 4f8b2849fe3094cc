"""The report as plain data, for ``--json``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hatang.cloud.capacity.figures import min_headroom_after, ratios
from hatang.cloud.capacity.months import month_str
from hatang.cloud.capacity.rules import LEVELS, rule_lines

if TYPE_CHECKING:
    from hatang.cloud.capacity.report import CapacityReport


def report_dict(report: CapacityReport) -> dict[str, Any]:
    return {
        "generated": report.generated.isoformat(timespec="seconds"),
        "start": month_str(report.start),
        "horizon_years": report.horizon_years,
        "rules": {
            "ratio_limits": dict(report.rules.ratio_limits),
            "policy": LEVELS[report.rules.policy],
            "service_life_years": report.rules.service_life_years,
            "lead_time_months": report.rules.lead_time_months,
            "text": [{"vi": vi, "en": en} for vi, en in rule_lines(report.rules)],
        },
        "inputs": report.inputs,
        "assumptions": report.assumptions,
        "assumed": [{"what": a.what, "value": a.value, "source": a.source, "state_at": a.state_at} for a in report.assumed],
        "drivers": {
            "drivers": [x.model_dump(mode="json", by_alias=True) for x in report.drivers.drivers],
            "new_services": [x.model_dump(mode="json", by_alias=True) for x in report.drivers.new_services],
        } if report.drivers else None,
        "cost_vnd": report.cost_vnd,
        "budget_by_year": {str(y): v for y, v in report.budget_by_year().items()},
        "clusters": [
            {
                "name": c.name,
                "physical": {
                    "nodes": c.capacity.nodes,
                    "cores": c.capacity.cores,
                    "threads": c.capacity.threads,
                    "ram_gib": c.capacity.ram_gib,
                    "storage_raw_gb": dict(c.capacity.storage_raw_gb),
                    "storage_usable_gb": dict(c.capacity.storage_usable_gb),
                    "storage_at_risk": sorted(c.capacity.storage_at_risk),
                },
                "allocated": _allocation(c.allocated),
                "live": _allocation(c.live) if c.live else None,
                "vcpu_per_core": ratios(c),
                "history": {"first": month_str(c.history.first), "last": month_str(c.history.last), "months": len(c.history.months),
                            "used_last_month": {k: v[-1] for k, v in c.history.values.items()}} if c.history else None,
                "trends": {k: {"slope_per_month": line.slope, "at_base": line.at(c.months[0] - 1)} for k, line in c.trends.lines.items()},
                "outlook": [
                    {
                        "resource": k.resource,
                        "rule": k.rule,
                        "limit": k.limit,
                        "need_now": k.need_first,
                        "headroom": k.headroom,
                        "headroom_pct": k.headroom_pct,
                        "need_at_horizon": k.need_last,
                        "runs_out": month_str(k.runs_out) if k.runs_out is not None else None,
                        "at_risk": k.at_risk,
                    }
                    for k in c.checks
                ],
                "forecast": [{"month": month_str(m), **n} for m, n in zip(c.months, c.needs)],
                "recommendation": {
                    "spec": c.recommendation.spec.name,
                    "model": c.recommendation.spec.spec.model,
                    "price_vnd": c.recommendation.spec.price_vnd,
                    "cost_vnd": c.recommendation.cost_vnd,
                    "actions": [
                        {
                            "kind": a.kind,
                            "in_service": month_str(a.month),
                            "order_by": month_str(a.order_by),
                            "late": a.late,
                            "count": a.count,
                            "nodes": list(a.nodes),
                            "replaces": list(a.replaces),
                            "reason": a.reason,
                            "cost_vnd": a.cost_vnd,
                        }
                        for a in c.recommendation.actions
                    ],
                    "min_headroom_after": min_headroom_after(c, report.rules.policy),
                    "unresolved": [{"resource": s.resource, "month": month_str(s.month), "need": s.need, "limit": s.limit} for s in c.recommendation.unresolved],
                },
                "backups": [b.as_dict() for b in c.backups],
                "notes": c.notes,
                "warnings": c.warnings,
            }
            for c in report.clusters
        ],
    }


def _allocation(a: Any) -> dict[str, Any]:
    return {"source": a.source, "vms": a.vms, "ha_vms": a.ha_vms, "vcpu": dict(a.demand.vcpu), "ram_gib": a.demand.ram_gib, "storage_gb": dict(a.demand.storage_gb),
            "committed_gb": dict(a.demand.committed_gb), "reserved_gb": dict(a.demand.reserved_gb), "not_in_inventory": list(a.unknown)}
