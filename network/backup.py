"""Running configurations in a git repository, one commit per run, as Oxidized keeps them.

Volatile lines (timestamps, counters, "building configuration" banners) are dropped
before saving so a commit shows only real change. ``history(device)`` gives runbooks the
commits that changed one device, with date and diff.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from napalm.base import NetworkDriver

from hatang.errors import HatangError
from hatang.inventory.inventory import Inventory
from hatang.network.connect import one_login_driver_for, run_per_router
from hatang.network.state import state_reader
from hatang.paths import private_directory, state_path, write_private
from hatang.results import Result, Results

#: Lines that change without anyone changing the configuration (Oxidized's model files).
VOLATILE = re.compile(
    r"^(Building configuration\.\.\.|Current configuration\s*:.*"
    r"|! Last configuration change at .*|! NVRAM config last updated at .*|! No configuration change since last restart"
    r"|! Time: .*|! Startup-config last modified at .*|## Last commit: .*|ntp clock-period .*)$"
)
GIT_IDENTITY = ("-c", "user.name=hatang", "-c", "user.email=hatang@localhost")


def repository() -> Path:
    return state_path("backups")


def normalise(config: str) -> str:
    """The configuration without volatile lines, with one trailing newline."""
    return "\n".join(line.rstrip() for line in config.splitlines() if not VOLATILE.match(line)).strip() + "\n"


def git(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(["git", *GIT_IDENTITY, *args], cwd=cwd or repository(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise HatangError(f"git {' '.join(args)} failed in {cwd or repository()}: {proc.stderr.strip()}")
    return proc.stdout


def ensure_repository() -> Path:
    """The backup repository, 0700 (configurations hold hashes and SNMP keys)."""
    repo = private_directory(repository(), ours=True)
    if not (repo / ".git").exists():
        git("init", "-q", "-b", "main", cwd=repo)
    return repo


@dataclass
class BackupRun:
    commit: str
    results: Results
    changed: list[str]


def backup(
    inv: Inventory,
    devices: Sequence[str],
    *,
    open_driver: Callable[[Inventory, str], NetworkDriver] = one_login_driver_for,
    show_progress: bool = True,
) -> BackupRun:
    """Fetch every device's running configuration and commit them all in one commit."""
    repo = ensure_repository()

    def task(name: str, driver: NetworkDriver) -> Result:
        running = state_reader(driver, inv.platform(name).value).running_config()
        path = repo / f"{name}.cfg"
        text = normalise(running)
        changed = not path.exists() or path.read_text(encoding="utf-8") != text
        write_private(path, text)
        return Result(host=name, changed=changed)

    results = run_per_router(inv, devices, task, open_driver=open_driver, label="backing up", show_progress=show_progress)
    changed = sorted(r.host for r in results if r.changed)
    failed = sorted(r.host for r in results if not r.ok)
    git("add", "-A")
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    message = f"backup {stamp} ({inv.env}): {len(results) - len(failed)} devices, {len(changed)} changed"
    if failed:
        message += f", {len(failed)} failed: {', '.join(failed)}"
    git("commit", "-q", "--allow-empty", "-m", message)
    return BackupRun(git("rev-parse", "HEAD").strip(), results, changed)


def history(device: str) -> list[dict[str, str]]:
    """The backup commits that changed ``device``'s configuration, newest first:
    ``{"commit", "date", "message", "diff"}``."""
    repo = repository()
    if not (repo / ".git").exists() or not (repo / f"{device}.cfg").exists():
        return []
    marker = "\x1e"
    log = git("log", f"--format={marker}%H%x1f%aI%x1f%s", "-p", "--", f"{device}.cfg")
    entries = []
    for chunk in log.split(marker)[1:]:
        header, _, diff = chunk.partition("\n")
        commit, date, message = header.split("\x1f")
        entries.append({"commit": commit, "date": date, "message": message, "diff": diff.strip()})
    return entries


def runs() -> list[dict[str, str]]:
    """Every backup run (one commit each), newest first."""
    if not (repository() / ".git").exists():
        return []
    log = git("log", "--format=%H%x1f%aI%x1f%s")
    return [dict(zip(("commit", "date", "message"), line.split("\x1f"))) for line in log.splitlines()]
