"""Capacity report: how long the province's report takes to build and write, and the
least-squares fit checked against its peer, numpy.polyfit, on the same history."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy

from bench.report import peak_rss_mib, table, write_section
from hatang.cloud.capacity.catalog import EXAMPLES
from hatang.cloud.capacity.forecast import fit_line
from hatang.cloud.capacity.history import read_history
from hatang.cloud.capacity.render import write_report
from hatang.cloud.capacity.report import build_report
from hatang.cloud.capacity.tables import CSV_FILES
from hatang.inventory.load import load

RUNS = 5


def median_s(work: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    inv = load(None, "lab")
    history_path = EXAMPLES / "history.csv"

    def build(years: int):
        return build_report(inv, horizon_years=years, history_path=history_path, drivers_path=EXAMPLES / "drivers.yaml")

    build_5 = median_s(lambda: build(5))
    build_15 = median_s(lambda: build(15))
    report = build(5)
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
        write_s = median_s(lambda: write_report(report, Path(tmp)), runs=3)
    history = read_history(history_path, {c.name: [s.name for s in c.storage] for c in inv.cluster_by_name.values()})
    series = [(s.first, values) for s in history.values() for values in s.values.values()]
    worst = 0.0
    for first, values in series:
        ours = fit_line(first, values)
        slope, intercept = numpy.polyfit(range(len(values)), values, 1)
        worst = max(worst, abs(ours.slope - slope) / max(abs(slope), 1e-12), abs(ours.intercept - intercept) / max(abs(intercept), 1e-12))
    ours_s = median_s(lambda: [fit_line(f, v) for f, v in series]) / len(series)
    peer_s = median_s(lambda: [numpy.polyfit(range(len(v)), v, 1) for _, v in series]) / len(series)
    rows = [
        ["build the report, 5-year horizon (2 clusters, 32 VMs, 46 months of history)", f"{build_5 * 1000:.0f} ms"],
        ["build the report, 15-year horizon", f"{build_15 * 1000:.0f} ms"],
        [f"write it: Markdown, HTML, {len(report.clusters) + 1} charts, {len(CSV_FILES)} CSV", f"{write_s * 1000:.0f} ms"],
        [f"least-squares fit, one series of ~46 months: hatang ({len(series)} series)", f"{ours_s * 1e6:.1f} µs"],
        ["the same with numpy.polyfit (peer)", f"{peer_s * 1e6:.1f} µs"],
        ["largest relative difference, slope or intercept, hatang vs numpy", f"{worst:.1e}"],
        ["peak memory of the whole run", f"{peak_rss_mib():.0f} MiB"],
    ]
    body = (
        f"The province's inventory with the example history, drivers and catalogue; median of {RUNS} runs "
        "(3 for writing).\n\n" + table(["what", "figure"], rows)
        + "\n\nhatang's fit is the textbook closed form (no numpy); it agrees with numpy.polyfit to the "
        "last digits, so the trend the report states is the one a planner would get in a spreadsheet."
    )
    write_section("capacity", "Capacity report (issue 9)", ".venv/bin/python -m bench.capacity", body)


if __name__ == "__main__":
    main()
