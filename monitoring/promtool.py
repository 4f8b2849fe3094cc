"""Prometheus' and Alertmanager's own checkers, run on what hatang generates (Debian's
``promtool`` and ``amtool``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from hatang.errors import HatangError, MissingDependencyError


def run_tool(tool: str, package: str, *args: str) -> str:
    """Run a checker; its output on success, a HatangError with its output on failure."""
    binary = shutil.which(tool)
    if binary is None:
        raise MissingDependencyError(f"{tool} is not installed (Debian package '{package}')")
    done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=120)
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise HatangError(f"{tool} {' '.join(args)} failed", details=output.splitlines())
    return output


def promtool(*args: str) -> str:
    return run_tool("promtool", "prometheus", *args)


def amtool(*args: str) -> str:
    return run_tool("amtool", "prometheus-alertmanager", *args)


def check_config(path: Path) -> str:
    promtool("check", "config", str(path))
    return "SUCCESS"


def test_rules(*test_files: Path) -> str:
    return promtool("test", "rules", *(str(p) for p in test_files))
