"""Prometheus' own checker, run on what hatang generates (Debian's ``promtool``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from hatang.errors import HatangError, MissingDependencyError


def promtool(*args: str) -> str:
    """Run promtool; its output on success, a HatangError with its output on failure."""
    binary = shutil.which("promtool")
    if binary is None:
        raise MissingDependencyError("promtool is not installed (Debian package 'prometheus')")
    done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=120)
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise HatangError(f"promtool {' '.join(args)} failed", details=output.splitlines())
    return output


def check_config(path: Path) -> str:
    promtool("check", "config", str(path))
    return "SUCCESS"


def test_rules(*test_files: Path) -> str:
    return promtool("test", "rules", *(str(p) for p in test_files))
