"""The append-only audit log: who ran what, when, on which hosts, with which result.

Each log is a JSON-lines file under the state directory, opened with O_APPEND and
fsynced per record, so records are never rewritten and a crash loses at most the
record being written.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hatang.console import to_json
from hatang.paths import state_path
from hatang.redact import redacted


def log_path(kind: str) -> Path:
    return state_path("audit") / f"{kind}.jsonl"


def who() -> str:
    """The person behind the command: the sudo caller if any, else the login user."""
    user = os.environ.get("SUDO_USER") or os.environ.get("USER") or getpass.getuser()
    return f"{user}@{socket.gethostname()}"


def append(kind: str, record: dict[str, Any], *, secrets: Iterable[str] = ()) -> dict[str, Any]:
    """Append one record to the ``kind`` log, stamped with who and when, with every value
    of ``secrets`` redacted from the data before it is serialised; returns it."""
    stamped = redacted({"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "who": who(), **record}, secrets)
    line = to_json(stamped).replace("\n", " ") + "\n"
    fd = os.open(log_path(kind), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return stamped


def read(kind: str) -> Iterator[dict[str, Any]]:
    """Every record of the ``kind`` log, oldest first (a torn last line is skipped)."""
    path = log_path(kind)
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
