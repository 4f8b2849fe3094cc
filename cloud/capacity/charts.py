"""The report's charts (matplotlib, PNG): each cluster's use and demand over time with
its limits, and the headroom of every cluster under each rule."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from hatang.cloud.capacity.history import CPU, RAM
from hatang.cloud.capacity.months import Month
from hatang.cloud.capacity.rules import LEVELS, limits
from hatang.escaping import chart_label

if TYPE_CHECKING:
    from hatang.cloud.capacity.report import CapacityReport, ClusterReport

UNITS = {CPU: "physical cores", RAM: "GiB"}
LIMIT_STYLE = {0: ("#b3261e", "-"), 1: ("#e8710a", "--"), 2: ("#8e6c00", ":")}


def _pyplot():  # noqa: ANN202 - matplotlib's module
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _dates(months: list[Month]) -> list[date]:
    return [date(m // 12, m % 12 + 1, 15) for m in months]


def charted_resources(report: ClusterReport) -> list[str]:
    """CPU, RAM and the storage pools that hold something."""
    return [r for r in report.needs[0] if r in (CPU, RAM) or any(n[r] > 0 for n in report.needs) or (report.history and r in report.history.values)]


def resource_title(resource: str) -> str:
    if resource == CPU:
        return "CPU (vCPU ÷ ratio limit) / Lõi CPU"
    if resource == RAM:
        return "RAM / Bộ nhớ"
    return f"Storage {resource.removeprefix('storage:')} / Lưu trữ (GB)"


def utilisation_chart(report: ClusterReport, policy: int, path: Path) -> Path:
    plt = _pyplot()
    resources = charted_resources(report)
    fig, axes = plt.subplots(len(resources), 1, figsize=(10, 3.1 * len(resources)), sharex=True, squeeze=False)
    forecast = _dates(report.months)
    history = report.history
    after = [limits(c, policy) for c in report.recommendation.clusters]
    for ax, resource in zip(axes[:, 0], resources):
        if history and resource in history.values:
            ax.plot(_dates(history.months), history.values[resource], "o", ms=3, color="#1f5fa8", label="measured use / đo thực tế")
            line = report.trends.lines[resource]
            span = list(range(history.first, report.months[-1] + 1))
            ax.plot(_dates(span), [line.at(m) for m in span], "--", lw=1, color="#1f5fa8", alpha=0.6, label="trend of use / xu hướng")
        ax.plot(forecast, [n[resource] for n in report.needs], "-", lw=2, color="#222", label="demand under the rules / nhu cầu")
        for level, (colour, style) in LIMIT_STYLE.items():
            have = report.check(resource, level).limit
            ax.axhline(have, color=colour, ls=style, lw=1.3, label=f"limit {LEVELS[level]} today / giới hạn hiện tại")
        ax.step(forecast, [a[resource] for a in after], where="post", color="#2e7d32", lw=1.6, label=f"limit {LEVELS[policy]} with the recommendation / sau khuyến nghị")
        ax.set_title(chart_label(resource_title(resource)), fontsize=10, loc="left")
        ax.set_ylabel(UNITS.get(resource, "GB"))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=3, frameon=False)
    fig.suptitle(f"{chart_label(report.name)}: use, demand and limits / sử dụng, nhu cầu và giới hạn", fontsize=12)
    fig.tight_layout(rect=(0, 0.06 if len(resources) < 3 else 0.04, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def headroom_chart(report: CapacityReport, path: Path) -> Path:
    """Headroom today (% of the limit) per cluster and resource, one bar per rule."""
    plt = _pyplot()
    labels, values = [], {level: [] for level in LEVELS}
    for cluster in report.clusters:
        for resource in charted_resources(cluster):
            labels.append(chart_label(f"{cluster.name}\n{resource.removeprefix('storage:')}"))
            for level in LEVELS:
                pct = cluster.check(resource, level).headroom_pct
                values[level].append(max(pct, -100.0) if pct is not None else -100.0)
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(labels)), 4.2))
    width = 0.8 / len(LEVELS)
    for i, level in enumerate(LEVELS):
        xs = [x + (i - 1) * width for x in range(len(labels))]
        ax.bar(xs, values[level], width, color=LIMIT_STYLE[level][0], alpha=0.45 + 0.2 * i, label=LEVELS[level])
    ax.axhline(0, color="#222", lw=1)
    ax.set_xticks(range(len(labels)), labels, fontsize=7)
    ax.set_ylabel("headroom today, % of the limit")
    ax.set_title("Headroom per cluster / Dư địa theo cụm (below 0: already short)", fontsize=11, loc="left")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
