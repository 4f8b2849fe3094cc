"""The report's figures as CSV tables, for spreadsheets."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from hatang.cloud.capacity.figures import ratios
from hatang.cloud.capacity.history import history_table
from hatang.cloud.capacity.months import month_str
from hatang.cloud.capacity.rules import LEVELS, limits
from hatang.cloud.vcpu import SERVICE_CLASSES

if TYPE_CHECKING:
    from hatang.cloud.capacity.report import CapacityReport

CSV_FILES = ("clusters.csv", "storage.csv", "outlook.csv", "forecast.csv", "recommendation.csv", "budget.csv", "history.csv")


def csv_tables(report: CapacityReport) -> dict[str, tuple[list[str], list[list[Any]]]]:
    tables: dict[str, tuple[list[str], list[list[Any]]]] = {
        "clusters.csv": (
            ["cluster", "nodes", "cores", "threads", "ram_gib", "vms", "ha_vms", *(f"vcpu_{c}" for c in SERVICE_CLASSES), "vcpu_per_core", "ram_allocated_gib", "allocation_source"],
            [[c.name, c.capacity.nodes, c.capacity.cores, c.capacity.threads, c.capacity.ram_gib, c.baseline.vms, c.baseline.ha_vms,
              *(c.baseline.demand.vcpu.get(cls, 0) for cls in SERVICE_CLASSES), round(ratios(c)["all"], 3), c.baseline.demand.ram_gib, c.baseline.source] for c in report.clusters],
        ),
        "storage.csv": (
            ["cluster", "pool", "type", "replicas", "erasure", "failure_domain", "near_full_ratio", "raw_gb", "usable_gb", "usable_n1_gb", "at_risk_n1", "committed_gb", "reserved_gb"],
            [[c.name, s.name, s.type, s.replicas, f"{s.erasure.k}+{s.erasure.m}" if s.erasure else "", s.failure_domain, s.near_full_ratio,
              c.capacity.storage_raw_gb[s.name], round(c.capacity.storage_usable_gb[s.name], 1), round(c.check(f"storage:{s.name}", 1).limit, 1),
              c.check(f"storage:{s.name}", 1).at_risk, c.baseline.demand.committed_gb.get(s.name, 0), c.baseline.demand.reserved_gb.get(s.name, 0)]
             for c in report.clusters for s in c.cluster.storage],
        ),
        "outlook.csv": (
            ["cluster", "resource", "rule", "limit", "need_now", "headroom", "need_at_horizon", "runs_out", "at_risk"],
            [[c.name, k.resource, k.rule, round(k.limit, 2), round(k.need_first, 2), round(k.headroom, 2), round(k.need_last, 2), month_str(k.runs_out) if k.runs_out is not None else "", k.at_risk]
             for c in report.clusters for k in c.checks],
        ),
        "forecast.csv": (
            ["month", "cluster", "resource", "need", *(f"limit_{v.lower().replace('+', 'plus')}_today" for v in LEVELS.values()), f"limit_{LEVELS[report.rules.policy].lower().replace('+', 'plus')}_recommended"],
            [[month_str(m), c.name, r, round(v, 2), *(round(c.check(r, lv).limit, 2) for lv in LEVELS), round(limits(after, report.rules.policy)[r], 2)]
             for c in report.clusters for m, need, after in zip(c.months, c.needs, c.recommendation.clusters) for r, v in need.items()],
        ),
        "recommendation.csv": (
            ["cluster", "action", "in_service", "order_by", "late", "count", "spec", "nodes", "replaces", "cost_vnd", "reason"],
            [[c.name, a.kind, month_str(a.month), month_str(a.order_by), a.late, a.count, c.recommendation.spec.name, " ".join(a.nodes), " ".join(a.replaces), a.cost_vnd, a.reason]
             for c in report.clusters for a in c.recommendation.actions],
        ),
        "budget.csv": (["year", "cost_vnd"], [[y, v] for y, v in report.budget_by_year().items()]),
        "history.csv": history_table({c.name: c.history for c in report.clusters if c.history}),
    }
    return tables


def csv_text(columns: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()
