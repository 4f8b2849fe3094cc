"""Write one benchmark's figures into docs/benchmarks.md, replacing its previous section.

Each benchmark owns a section delimited by HTML comments, so benchmarks can run one at
a time and the file keeps the latest figures of each, with the date, the machine and
the command that reproduces them.
"""

from __future__ import annotations

import os
import platform
import re
import resource
from datetime import datetime, timezone
from pathlib import Path

from hatang.paths import REPO_ROOT

REPORT = REPO_ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Each section is written by the benchmark named in it (`make bench` runs them all); the
peer is measured in the same run on the same machine. Figures are from the last run.
"""
RELIABILITY = REPO_ROOT / "docs" / "reliability.md"
RELIABILITY_HEADER = """# Reliability

Each section is written by the fault run named in it (`make bench` runs them all): the
faults tried, their outcomes and the time to report. Figures are from the last run.
"""


def machine() -> str:
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Linux {platform.release()}, Python {platform.python_version()}"


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident memory of this process (or its waited-for children), in MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def write_section(name: str, title: str, command: str, body: str, reliability: bool = False) -> Path:
    """Replace (or add) the section ``name`` of docs/benchmarks.md (or, with
    ``reliability``, of docs/reliability.md) and print it."""
    report, header = (RELIABILITY, RELIABILITY_HEADER) if reliability else (REPORT, HEADER)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- bench:{name} -->\n## {title}\n\n"
        f"Run {stamp} on {machine()}; reproduce with `{command}`.\n\n{body.strip()}\n<!-- /bench:{name} -->\n"
    )
    print(section)
    report.parent.mkdir(parents=True, exist_ok=True)
    text = report.read_text(encoding="utf-8") if report.exists() else header
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->\n", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    report.write_text(text, encoding="utf-8")
    return report


def table(columns: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
