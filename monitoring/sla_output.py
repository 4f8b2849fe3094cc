"""The availability report as tables, CSV and an HTML page with its chart."""

from __future__ import annotations

import base64
import csv
import html
import io
from pathlib import Path

from hatang.console import info, print_json, print_table
from hatang.escaping import chart_label
from hatang.monitoring.outages import Outage
from hatang.monitoring.sla import OBJECTIVE, Figures, SlaReport

COLUMNS = ["name", "region", "availability", "downtime (min)", "incidents", "error budget left", "observed (min)"]
WORST = 10
OUTAGE_COLUMNS = ["site", "device", "region", "start (UTC)", "end (UTC)", "duration (s)", "cause", "detail"]


def pct(value: float | None, digits: int = 3) -> str:
    return "no data" if value is None else f"{value * 100:.{digits}f}%"


def row(f: Figures) -> list[str]:
    return [f.name, f.district, pct(f.availability), f"{f.downtime_min:.1f}", str(f.incidents), pct(f.budget_left, 1), f"{f.observed_min:.0f}"]


def outage_row(o: Outage) -> list[str]:
    end = f"{o.end:%Y-%m-%d %H:%M:%S}" + (" (ongoing)" if o.ongoing else "")
    cause = f"{o.cause} ({o.window})" if o.window else o.cause
    if not o.settled and not o.ongoing:
        cause += " (provisional: SNMP evidence still to come)"
    return [o.site_name, o.device, o.district, f"{o.start:%Y-%m-%d %H:%M:%S}", end, f"{o.duration_s:.0f}", cause, o.detail]


def policy_note(report: SlaReport) -> str:
    verb = "not counted as downtime" if report.planned_policy == "exclude" else "counted as downtime"
    return f"{len(report.outages)} outage intervals; planned maintenance ({len(report.windows)} windows declared) is {verb} (--planned {report.planned_policy})"


#: Since the 2025 reorganisation a district is a network region, no longer a place of
#: government: the report groups by 2025 unit first, then by region.
REGION = "network region (former district)"
UNIT_COLUMNS = ["unit", "headquarters", "service points", "regions", "availability", "downtime (min)"]


def unit_row(unit: dict) -> list[str]:
    """A 2025 unit's row (``SlaReport.units_2025``)."""
    return [unit["name"], unit["headquarters"] or "-", str(len(unit["service_points"])), ", ".join(unit["regions"]),
            "no data" if unit["availability_pct"] is None else f"{unit['availability_pct']:.3f}%", f"{unit['downtime_min']:.1f}"]


def title(report: SlaReport, what: str) -> str:
    return f"{what}, {report.start:%Y-%m-%d %H:%M} → {report.end:%Y-%m-%d %H:%M} UTC (objective {OBJECTIVE:.1%})"


def show_report(report: SlaReport, *, as_json: bool) -> None:
    if as_json:
        print_json(report.as_dict())
        return
    print_table(title(report, "Availability per 2025 unit"), UNIT_COLUMNS, [unit_row(u) for u in report.units_2025])
    print_table(title(report, f"Availability per {REGION}"), COLUMNS, [row(f) for f in report.districts])
    print_table(title(report, "Availability per service"), COLUMNS, [row(f) for f in report.services])
    print_table(title(report, f"Worst {WORST} communes"), COLUMNS, [row(f) for f in report.communes[:WORST]],
                caption=f"{len(report.communes)} communes with data; {len(report.without_data)} inventory routers without data")
    print_table(title(report, "Backups within RPO per cloud service"), ["service", "guests", "measured", "worst guest", "within RPO", "compliant"],
                [[r.service, r.guests, r.measured, r.worst_guest or "-", "no data" if r.within_rpo_pct is None else f"{r.within_rpo_pct:.2f}%",
                  "yes" if r.compliant else "NO"] for r in report.rpo])
    print_table(title(report, "Outages"), OUTAGE_COLUMNS, [outage_row(o) for o in report.outages], caption=policy_note(report))


def write_csv(report: SlaReport, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["level", "key", "name", "district", "availability_pct", "downtime_min", "incidents", "error_budget_left_pct", "observed_min", "devices"])
        for level, group in (("district", report.districts), ("service", report.services), ("commune", report.communes), ("device", report.devices)):
            for figures in group:
                d = figures.as_dict()
                writer.writerow([level, d["key"], d["name"], d["district"], d["availability_pct"], d["downtime_min"], d["incidents"], d["error_budget_left_pct"], d["observed_min"], d["devices"]])


def write_outages_csv(report: SlaReport, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        keys = ["device", "site", "name", "district", "start", "end", "duration_s", "ongoing", "cause", "settled", "detail", "maintenance_window"]
        writer.writerow(keys)
        for outage in report.outages:
            d = outage.as_dict()
            writer.writerow([d[k] for k in keys])


def chart_png(report: SlaReport) -> bytes:
    """Per-district availability bars and the worst communes, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    worst = report.communes[:WORST]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    names = [chart_label(f.name) for f in report.districts]
    values = [(f.availability or 0) * 100 for f in report.districts]
    bars = left.bar(names, values, color=["#c0392b" if v < OBJECTIVE * 100 else "#27ae60" for v in values])
    left.bar_label(bars, fmt="%.3f%%", fontsize=8)
    left.axhline(OBJECTIVE * 100, color="#333", linestyle="--", linewidth=1, label=f"objective {OBJECTIVE:.1%}")
    left.set_ylim(min([*values, OBJECTIVE * 100]) - 0.5, 100.05)
    left.set_ylabel("availability (%)")
    left.set_title(f"Availability per {REGION}")
    left.tick_params(axis="x", rotation=30)
    left.legend(loc="best")
    right.barh([chart_label(f.name) for f in worst][::-1], [f.downtime_min for f in worst][::-1], color="#e67e22")
    right.set_xlabel("downtime (minutes)")
    right.set_title(f"Worst {len(worst)} communes")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def html_table(caption: str, rows: list[Figures]) -> str:
    return html_rows(caption, COLUMNS, [row(f) for f in rows])


def html_rows(caption: str, columns: list[str], rows: list[list[str]], note: str = "") -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>" for cells in rows)
    paragraph = f"<p>{html.escape(note)}</p>" if note else ""
    return f"<h2>{html.escape(caption)}</h2>{paragraph}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_outages(report: SlaReport) -> str:
    return html_rows("Outages", OUTAGE_COLUMNS, [outage_row(o) for o in report.outages], policy_note(report))


def write_html(report: SlaReport, path: Path, png: bytes) -> None:
    image = base64.b64encode(png).decode()
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title(report, "Availability"))}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:2em}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}</style></head>
<body><h1>{html.escape(title(report, "Availability of the dedicated data network"))}</h1>
<p>From Prometheus at {html.escape(report.prometheus)}; one sample every {report.step_s:g} s of <code>hatang:device_available</code>.</p>
<img alt="availability per {REGION} and worst communes" src="data:image/png;base64,{image}">
{html_rows("Per 2025 unit", UNIT_COLUMNS, [unit_row(u) for u in report.units_2025])}
{html_table(f"Per {REGION}", report.districts)}
{html_table("Per service", report.services)}
{html_table("Per commune (worst first)", report.communes)}
{html_outages(report)}
</body></html>
"""
    path.write_text(page, encoding="utf-8")


def write_report(report: SlaReport, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    png = chart_png(report)
    paths = [directory / "availability.csv", directory / "availability.html", directory / "availability.png", directory / "outages.csv"]
    write_csv(report, paths[0])
    write_html(report, paths[1], png)
    paths[2].write_bytes(png)
    write_outages_csv(report, paths[3])
    for path in paths:
        info(f"wrote {path}")
    return paths
