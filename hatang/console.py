"""Terminal output shared by every command: tables, progress, JSON for scripts.

Human output goes through rich; ``--json`` output is plain JSON on stdout and nothing
else there, so scripts can pipe it. Progress and errors go to stderr.

Data is never read as markup: a name like ``Tích Sơn [/x]`` or ``:warning:`` is shown
as written. Emoji codes are off on both consoles; table cells are plain text unless
they are :class:`Markup` (what :func:`status_mark` returns); messages that mix markup
with data put the data through :func:`plain`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

# Piped output (CI logs, ``| less``) gets a wide fixed width so tables are not truncated.
out = Console(highlight=False, emoji=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


class Markup(str):
    """Text hatang wrote as Rich markup on purpose (a table cell that is not Markup is
    shown as plain text)."""


def plain(value: Any) -> str:
    """``value`` as text that Rich shows literally, to put data inside a markup string."""
    return escape(str(value))


def _cell(value: Any) -> Text | str:
    if value is None:
        return ""
    if isinstance(value, (Markup, Text)):
        return value
    return Text(str(value))


def _default(value: Any) -> Any:
    if isinstance(value, (IPv4Address, IPv4Interface, IPv4Network, Path)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(data: Any) -> str:
    return json.dumps(data, default=_default, ensure_ascii=False, indent=2, sort_keys=False)


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (the only thing a ``--json`` command prints there)."""
    sys.stdout.write(to_json(data) + "\n")
    sys.stdout.flush()


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None) -> Table:
    """A table whose title, caption and cells are plain text (cells may be :class:`Markup`)."""
    t = Table(title=Text(title) if title else None, caption=Text(caption) if caption else None, header_style="bold", title_justify="left")
    for column in columns:
        t.add_column(column)
    for row in rows:
        t.add_row(*(_cell(cell) for cell in row))
    return t


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None) -> None:
    out.print(table(title, columns, rows, caption=caption))


def status_mark(ok: bool | None) -> Markup:
    """A coloured word for a check result: ok, FAIL, or skip when it was not run."""
    if ok is None:
        return Markup("[dim]skip[/]")
    return Markup("[green]ok[/]" if ok else "[bold red]FAIL[/]")


@contextmanager
def progress(description: str, total: int, *, enabled: bool = True) -> Iterator["ProgressTick"]:
    """A progress bar on stderr; call the yielded object after each item is done."""
    if not enabled or not err.is_terminal and total <= 1:
        yield ProgressTick(None, None)
        return
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=not err.is_terminal,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield ProgressTick(bar, task)


class ProgressTick:
    def __init__(self, bar: Progress | None, task: Any):
        self._bar, self._task = bar, task

    def __call__(self, advance: int = 1, description: str | None = None) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=advance, description=description)


def info(message: str) -> None:
    """A line on stderr, shown as written (no markup)."""
    err.print(Text(message))


def warn(message: str) -> None:
    err.print(Text.assemble(("warning:", "yellow"), " ", message))
