"""Inventory text in the terminal, charts and documents is shown as written: never
read as Rich markup or emoji, matplotlib mathtext, or Markdown."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench.hostile import copy_inventory
from hatang.cloud.capacity import document as d
from hatang.monitoring.sla import Figures, SlaReport
from hatang.monitoring.sla_output import chart_png

HOSTILE = "Tích Sơn [/x] [bold]:warning: $\\frac{$ **b** <i>"


def hatang(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatang.cli", *args], capture_output=True, text=True, timeout=120)


def test_validate_and_show_print_a_markup_name_as_written(tmp_path: Path) -> None:
    directory = copy_inventory(tmp_path / "inventory")
    for file, find in (("province.yaml", "  name: Tích Sơn\n"), ("province.yaml", "  name: Vĩnh Phúc\n")):
        path = directory / file
        path.write_text(path.read_text(encoding="utf-8").replace(find, f"  name: '{HOSTILE}'\n"), encoding="utf-8")
    validated = hatang("inventory", "validate", "--inventory", str(directory))
    assert validated.returncode == 0, validated.stderr
    assert f"the lab inventory of {HOSTILE} is valid" in validated.stdout
    shown = hatang("inventory", "show", "tich-son", "--inventory", str(directory))
    assert shown.returncode == 0, shown.stderr
    assert HOSTILE in shown.stdout
    summary = hatang("inventory", "show", "--inventory", str(directory))
    assert summary.returncode == 0 and HOSTILE in summary.stdout.replace("\n", "")


def test_error_messages_print_a_markup_name_as_written(tmp_path: Path) -> None:
    directory = copy_inventory(tmp_path / "inventory")
    path = directory / "province.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  name: Tích Sơn\n", f"  name: '{HOSTILE}'\n  extra: 1\n"), encoding="utf-8")
    result = hatang("inventory", "validate", "--inventory", str(directory))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "communes[0].extra: unknown key" in result.stderr


def test_sla_chart_shows_dollar_signs_instead_of_parsing_mathtext() -> None:
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    district = Figures(key="243", name=HOSTILE, up_samples=99, samples=100, step_s=60)
    report = SlaReport(start=now, end=now, prometheus="http://127.0.0.1:9090", step_s=60, districts=[district], communes=[district])
    png = chart_png(report)
    assert png.startswith(b"\x89PNG")


def test_markdown_tables_and_headings_are_escaped_in_both_outputs(tmp_path: Path) -> None:
    blocks = [d.Heading(2, "# [x](javascript:alert(1))"), d.Table(["name", "n"], [("**bold** <script>x</script> | `c`", 1)]), d.Para("**kept** \\*not bold\\*")]
    text = d.to_markdown(blocks)
    assert "## \\# \\[x\\](javascript:alert(1))" in text
    assert "| \\*\\*bold\\*\\* \\<script\\>x\\</script\\> \\| \\`c\\` | 1 |" in text
    page = d.to_html(blocks, "t", tmp_path)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<td>**bold**" in page
    assert "<p><strong>kept</strong> *not bold*</p>" in page


def test_tables_show_cells_as_written_and_keep_hatang_markup() -> None:
    from rich.console import Console

    from hatang.console import status_mark, table

    console = Console(record=True, width=200, color_system="truecolor", emoji=False)
    console.print(table(f"title {HOSTILE}", ["name", "status"], [(HOSTILE, status_mark(True)), (None, status_mark(False))]))
    text = console.export_text(clear=False)
    assert HOSTILE in text and f"title {HOSTILE}" in text
    assert "[green]" not in text and "ok" in text and "FAIL" in text
    assert "\x1b[" in console.export_text(styles=True)  # the marks are coloured, not printed as tags
