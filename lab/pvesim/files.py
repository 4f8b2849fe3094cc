"""JSON files written atomically, and files another process edits, re-read when they change."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


def write_json(path: Path, data: Any, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


class Watched:
    """A JSON file edited by another process: ``data()`` re-reads it when its mtime moves."""

    def __init__(self, path: Path, default: Any):
        self.path = path
        self._default = default
        self._stamp: tuple[int, int] | None = None
        self._data: Any = default
        self._lock = threading.Lock()

    def data(self) -> Any:
        with self._lock:
            try:
                stat = self.path.stat()
                stamp = (stat.st_mtime_ns, stat.st_size)
            except FileNotFoundError:
                stamp = None
            if stamp != self._stamp:
                self._data = read_json(self.path, self._default) if stamp else self._default
                self._stamp = stamp
            return self._data
