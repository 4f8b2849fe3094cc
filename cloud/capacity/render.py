"""Write a :class:`~.report.CapacityReport` for people: Markdown and HTML (charts
embedded) with the charts as PNG and the figures as CSV beside them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from hatang.cloud.capacity import document as d
from hatang.cloud.capacity.backup_demand import BackupStore
from hatang.cloud.capacity.charts import headroom_chart, utilisation_chart
from hatang.cloud.capacity.figures import billions, coefficients, describe, min_headroom_after, num, ratios, unit, vnd, when
from hatang.cloud.capacity.history import STORAGE
from hatang.cloud.capacity.months import month_str
from hatang.escaping import markdown
from hatang.cloud.capacity.recommend import past_life
from hatang.cloud.capacity.storage import AT_RISK, osd_gb
from hatang.cloud.capacity.rules import LEVELS, rule_lines
from hatang.cloud.capacity.tables import CSV_FILES, csv_tables, csv_text
from hatang.cloud.vcpu import SERVICE_CLASSES, cores_needed
from hatang.inventory import model as m

if TYPE_CHECKING:
    from hatang.cloud.capacity.report import CapacityReport, ClusterReport

SOURCE_NAMES = {"inventory": "the inventory (services.yaml)", "live": "the live cluster (Proxmox API)"}
TITLE = "Báo cáo năng lực hạ tầng điện toán đám mây / Private-cloud capacity report"


# --- the document ----------------------------------------------------------------


def blocks(report: CapacityReport, charts: dict[str, Path]) -> list[d.Block]:
    policy = report.rules.policy
    out: list[d.Block] = [
        d.Heading(1, TITLE),
        d.Para(
            f"Lập ngày / generated {report.generated:%Y-%m-%d %H:%M} UTC · dự báo từ / forecast from **{month_str(report.start)}** "
            f"trong / over **{report.horizon_years} năm / years** · chính sách dự phòng / redundancy policy **{LEVELS[policy]}**."
        ),
        d.Heading(2, "1. Tóm tắt / Summary"),
        d.Table(["Cụm / cluster", f"cạn đầu tiên theo {LEVELS[policy]}, phần cứng hiện tại / first to run out under {LEVELS[policy]}, today's hardware", "khuyến nghị / recommendation", "chi phí / cost"], [_summary_row(c, policy) for c in report.clusters], numeric_from=3),
        d.Para(f"**Tổng chi phí ước tính / total rough cost: {vnd(report.cost_vnd)} ({billions(report.cost_vnd)})** (đặt hàng theo năm / orders by year below)."),
        d.Table(["Năm / year", "chi phí / cost (VND)", ""], [(y, vnd(v), billions(v)) for y, v in report.budget_by_year().items()] or [("—", vnd(0), "")]),
        *_warning_blocks(report),
        d.Image(charts["headroom"], "Dư địa hiện tại theo cụm / headroom today per cluster"),
        d.Heading(2, "2. Quy tắc dự phòng / Headroom rules"),
        d.Bullets([f"{vi} — {en}" for vi, en in rule_lines(report.rules)]),
        d.Heading(2, "3. Giả định và dữ liệu đầu vào / Assumptions and inputs"),
        d.Bullets(report.assumptions),
        d.Para("Giá trị mặc định không được khai báo / every value the report uses that its inputs do not state:"),
        d.Table(["giả định / assumption", "giá trị / value", "nguồn / source", "khai báo tại / state it at"],
                [(a.what, a.value, a.source, a.state_at) for a in report.assumed] or [("—", "", "every value is stated", "")], numeric_from=4),
        d.Table(["Đầu vào / input", "nguồn / source"], list(report.inputs.items()), numeric_from=2),
        *_driver_blocks(report),
    ]
    for i, c in enumerate(report.clusters, start=4):
        out += _cluster_blocks(i, c, report, charts[c.name])
    out += [
        d.Heading(2, f"{len(report.clusters) + 4}. Số liệu / Figures"),
        d.Para("Các bảng số liệu kèm theo dạng CSV / the figures as CSV: " + ", ".join(f"`{name}`" for name in CSV_FILES) + "."),
    ]
    return out


def _driver_blocks(report: CapacityReport) -> list[d.Block]:
    """The planner's demand drivers with their coefficients: the growth the plan assumes."""
    drivers = report.drivers
    if drivers is None or not (drivers.drivers or drivers.new_services):
        return [d.Para("Không có động lực nhu cầu / no demand drivers: the forecast follows the history's trend alone.")]
    first, last = report.start, report.start + 12 * report.horizon_years - 1
    out: list[d.Block] = [d.Heading(3, "Động lực nhu cầu / Demand drivers")]
    if drivers.drivers:
        out.append(d.Table(
            ["driver", "cluster / class", "unit", f"{month_str(first - 1)} (base)", f"{month_str(last)}", "per unit"],
            [(f"{x.title or x.name}", f"{x.cluster} / {x.service_class}", x.unit, num(x.quantity(first - 1)), num(x.quantity(last)), coefficients(x))
             for x in drivers.drivers],
            numeric_from=3,
        ))
    if drivers.new_services:
        out.append(d.Table(
            ["new service / dịch vụ mới", "cluster / class", "from", "VMs"],
            [(s.title or s.name, f"{s.cluster} / {s.service_class}", s.start,
              "; ".join(f"{v.count} × {v.cores} vCPU, {v.memory_gib:g} GiB" + "".join(f", {gb:g} GB {pool}" for pool, gb in v.disks.items()) for v in s.vms))
             for s in drivers.new_services],
            numeric_from=4,
        ))
    return out


def _warning_blocks(report: CapacityReport) -> list[d.Block]:
    """Storage a planner must not miss: pools that cannot re-replicate, disks committed beyond usable."""
    found = [f"**{c.name}** {w}" for c in report.clusters for w in c.warnings]
    return [d.Heading(3, "Cảnh báo / Warnings"), d.Bullets(found)] if found else []


def _summary_row(c: ClusterReport, policy: int) -> tuple[str, str, str, str]:
    first = min((k for k in c.checks if k.level == policy and k.runs_out is not None), key=lambda k: k.runs_out, default=None)
    runs_out = f"{first.resource} {when(first.runs_out, c.months)}" if first else f"none within {len(c.months) // 12} years"
    actions = "; ".join(f"{describe(a, c.recommendation.spec.name)} by {month_str(a.month)}" for a in c.recommendation.actions) or "nothing to buy"
    return c.name, runs_out, actions, vnd(c.recommendation.cost_vnd)


def _cluster_blocks(index: int, c: ClusterReport, report: CapacityReport, chart: Path) -> list[d.Block]:
    rules, policy = report.rules, report.rules.policy
    demand = c.baseline.demand
    life = rules.service_life_years
    nodes = [
        (n.name, n.model, n.purchased or "?", n.cores, n.cores * n.threads_per_core, n.ram_gib, num(osd_gb(n)),
         f"{n.purchased + life}" + (" (past / đã quá)" if past_life(n, c.months[0], life) else "") if n.purchased else "?")
        for n in c.cluster.nodes
    ]
    ratio = ratios(c)
    alloc_rows = [
        ("vCPU " + cls, num(demand.vcpu.get(cls, 0)), f"≤ {rules.ratio_limits[cls]:g}", num(demand.vcpu.get(cls, 0) / rules.ratio_limits[cls], 1))
        for cls in SERVICE_CLASSES
    ]
    alloc_rows.append(("vCPU (all)", num(demand.total_vcpu), f"{ratio['all']:.2f} vCPU/core today", num(cores_needed(demand.vcpu, rules.ratio_limits), 1)))
    storage_rows = [
        (s.name, s.type, _copies(s), f"{s.near_full_ratio:g}", num(c.capacity.storage_raw_gb[s.name]),
         *(AT_RISK if k.at_risk else num(k.limit) for k in (c.check(f"storage:{s.name}", lv) for lv in LEVELS)),
         num(c.history.values[STORAGE + s.name][-1]) if c.history and STORAGE + s.name in c.history.values else "—",
         num(demand.committed_gb.get(s.name, 0)), num(demand.reserved_gb.get(s.name, 0)))
        for s in c.cluster.storage
    ]
    outlook_rows = [
        (k.resource, k.rule, AT_RISK if k.at_risk else num(k.limit, 1), num(k.need_first, 1), f"{k.headroom_pct:.0f} %" if k.headroom_pct is not None else "—",
         num(k.need_last, 1), when(k.runs_out, c.months))
        for k in sorted(c.checks, key=lambda k: (k.resource, k.level))
    ]
    rec = c.recommendation
    out: list[d.Block] = [
        d.Heading(2, f"{index}. Cụm / Cluster {c.name}"),
        d.Heading(3, "Phần cứng / Hardware"),
        d.Para(f"{c.capacity.nodes} nút / nodes · {c.capacity.cores} lõi vật lý / physical cores ({c.capacity.threads} threads) · {num(c.capacity.ram_gib)} GiB RAM."),
        d.Table(["nút / node", "model", "mua / bought", "cores", "threads", "RAM GiB", "OSD GB", f"hết hạn / end of life ({life} y)"], nodes, numeric_from=2),
        d.Heading(3, "Phân bổ / Allocation"),
        d.Para(
            f"{c.baseline.vms} máy ảo / VMs ({c.baseline.ha_vms} HA), nguồn / source: {SOURCE_NAMES.get(c.baseline.source, c.baseline.source)}; "
            f"RAM cấp phát / allocated **{num(demand.ram_gib)} GiB** of {num(c.capacity.ram_gib)} GiB."
        ),
        d.Table(["vCPU", "cấp phát / allocated", "giới hạn tỷ lệ / ratio limit", "lõi cần / cores needed"], alloc_rows),
        d.Para("Dùng thực tế và đã cấp phát / used (data stored) beside committed (disk sizes allocated, thin-provisioned); "
               "reserved = committed disks of services sized for their disks."),
        d.Table(["pool", "type", "copies", "near-full", "raw GB", *(f"usable {v} GB" for v in LEVELS.values()), "used GB (last month)", "committed GB", "reserved GB"],
                storage_rows, numeric_from=2),
    ]
    if c.warnings:
        out.append(d.Bullets([f"**{w}**" for w in c.warnings]))
    if c.history:
        used = c.history.values
        out.append(d.Para(
            f"Đo thực tế tháng {month_str(c.history.last)} / measured use in {month_str(c.history.last)}: "
            f"**{num(used['cpu'][-1], 1)}** busy cores of {c.capacity.cores} ({100 * used['cpu'][-1] / c.capacity.cores:.0f} %), "
            f"**{num(used['ram'][-1])} GiB** RAM in use of {num(c.capacity.ram_gib)} GiB; "
            f"trend {c.trends.lines['cpu'].slope:+.2f} cores and {c.trends.lines['ram'].slope:+.1f} GiB a month "
            f"(least squares over {len(c.history.months)} months)."
        ))
    if c.live:
        out.append(d.Table(["", "inventory", "live cluster"], _live_rows(c), numeric_from=1))
    if c.backups:
        out.append(d.Para("Sao lưu / backup stores: the archives each guest's retention keeps once full × its newest archive "
                          "(measured, else estimated), growing with its pool's data (issue 27)."))
        out.append(d.Table(["store", "guests (measured)", "archives kept", "newest archives GB", "held now GB", "at horizon GB"],
                           [backup_row(b) for b in c.backups], numeric_from=1))
    out += [
        d.Heading(3, "Dự báo và thời điểm cạn / Outlook: when each resource runs out"),
        d.Para("Giới hạn trên phần cứng hiện tại / limits on today's hardware; nhu cầu / need now and at the horizon; “runs out” = the first month the need passes the limit."),
        d.Table(["resource", "rule", "limit", "need now", "headroom", "need at horizon", "runs out / cạn"], outlook_rows, numeric_from=2),
        d.Image(chart, f"{c.name}: sử dụng, nhu cầu và giới hạn / use, demand and limits"),
        d.Heading(3, "Khuyến nghị / Recommendation"),
        d.Para(f"Cấu hình / spec **{markdown(rec.spec.name)}**: {markdown(rec.spec.spec.model)}, {rec.spec.spec.cores} cores, {rec.spec.spec.ram_gib} GiB, {vnd(rec.spec.price_vnd)} per node."),
    ]
    if rec.actions:
        out.append(
            d.Table(
                ["việc / action", "vận hành / in service", "đặt hàng / order by", "lý do / reason", "chi phí / cost"],
                [(describe(a, rec.spec.name), month_str(a.month), month_str(a.order_by) + (" (late / trễ)" if a.late else ""), a.reason, vnd(a.cost_vnd)) for a in rec.actions],
                numeric_from=4,
            )
        )
    else:
        out.append(d.Para(f"Không cần mua / nothing to buy: {LEVELS[policy]} holds over the horizon and no node passes its service life."))
    after = min_headroom_after(c, policy)
    out.append(d.Table(["resource", f"smallest headroom under {LEVELS[policy]} after the recommendation", "month", "limit then"],
                       [(r, f"{num(v['headroom'], 1)} {unit(r)}", v["month"], num(v["limit"], 1)) for r, v in after.items()]))
    if rec.unresolved:
        out.append(d.Bullets([f"**{markdown(s.resource)}** runs out {month_str(s.month)} (needs {num(s.need)} of {num(s.limit)}) and nodes of this spec cannot cure it: grow the storage itself." for s in rec.unresolved]))
    if c.notes:
        out.append(d.Bullets(c.notes))
    return out


def _copies(storage: m.Storage) -> str:
    if storage.erasure:
        return f"EC {storage.erasure.k}+{storage.erasure.m} per {storage.failure_domain}"
    return f"{storage.replicas} per {storage.failure_domain}" if storage.type == "rbd" else str(storage.replicas)


def _live_rows(c: ClusterReport) -> list[tuple[str, str, str]]:
    inv, live = c.allocated, c.live
    assert live is not None
    return [
        ("VMs", str(inv.vms), str(live.vms)),
        ("vCPU", num(inv.demand.total_vcpu), num(live.demand.total_vcpu)),
        ("RAM GiB", num(inv.demand.ram_gib), num(live.demand.ram_gib)),
        *((f"disk {p} GB", num(inv.demand.storage_gb.get(p, 0)), num(live.demand.storage_gb.get(p, 0))) for p in sorted({*inv.demand.storage_gb, *live.demand.storage_gb})),
    ]


def write_report(report: CapacityReport, directory: Path, tick: Callable[[], None] = lambda: None) -> list[Path]:
    """Write report.md, report.html, the charts and the CSV files into ``directory``
    (``tick`` is called after each chart, for a progress bar)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "charts").mkdir(exist_ok=True)
    charts = {"headroom": Path("charts/headroom.png")}
    headroom_chart(report, directory / charts["headroom"])
    tick()
    for c in report.clusters:
        charts[c.name] = Path(f"charts/{c.name}.png")
        utilisation_chart(c, report.rules.policy, directory / charts[c.name])
        tick()
    doc = blocks(report, charts)
    written = [directory / p for p in charts.values()]
    for name, text in (("report.md", d.to_markdown(doc)), ("report.html", d.to_html(doc, TITLE, directory))):
        (directory / name).write_text(text, encoding="utf-8")
        written.append(directory / name)
    for name, (columns, rows) in csv_tables(report).items():
        (directory / name).write_text(csv_text(columns, rows), encoding="utf-8")
        written.append(directory / name)
    return written


def backup_row(store: BackupStore) -> tuple[str, str, str, str, str, str]:
    """A backup store's row, in the report and on the console."""
    b = store.as_dict()
    return (store.storage, f"{b['guests']} ({b['measured']})", num(b["copies"]), num(b["archives_gb"], 1), num(b["retained_gb"]),
            num(b["at_horizon_gb"] or 0))
