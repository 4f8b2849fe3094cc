"""A tiny document model (headings, paragraphs, lists, tables, images) written out as
Markdown or as one self-contained HTML page, so both say exactly the same thing.

Headings, table cells and image captions are data: escaped in both outputs. Paragraphs
and list items are written by hatang with ``**bold**`` and ```code``` markup; the data
inside them goes through :func:`hatang.escaping.markdown`, whose backslash escapes the
HTML output honours too."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hatang.escaping import markdown


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: Sequence[str]


@dataclass(frozen=True)
class Table:
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    numeric_from: int = 1  # columns at or after this index are right-aligned


@dataclass(frozen=True)
class Image:
    path: Path  # relative to the report's directory
    alt: str


Block = Heading | Para | Bullets | Table | Image


def to_markdown(blocks: Sequence[Block]) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {markdown(block.text)}")
        elif isinstance(block, Para):
            parts.append(block.text)
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Table):
            align = ["---:" if i >= block.numeric_from else "---" for i in range(len(block.columns))]
            lines = ["| " + " | ".join(markdown(c) for c in block.columns) + " |", "|" + "|".join(align) + "|"]
            lines += ["| " + " | ".join(markdown(c) for c in row) + " |" for row in block.rows]
            parts.append("\n".join(lines))
        else:
            parts.append(f"![{markdown(block.alt)}]({block.path.as_posix()})")
    return "\n\n".join(parts) + "\n"


STYLE = """
body{font-family:"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1d2733;line-height:1.45}
h1{border-bottom:3px solid #b3261e;padding-bottom:.3em}h2{border-bottom:1px solid #ccd;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}th,td{border:1px solid #ccd;padding:.3em .6em}
th{background:#eef1f6;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #e3e6ec;margin:.5em 0}
"""


def to_html(blocks: Sequence[Block], title: str, base_dir: Path) -> str:
    """One HTML page; images are embedded (base64) so the file can be mailed alone."""
    parts = [f"<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"]
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            parts.append(f"<p>{_inline(block.text)}</p>")
        elif isinstance(block, Bullets):
            parts.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{html.escape(c)}</th>" for c in block.columns)
            body = "".join(
                "<tr>" + "".join(f"<td{' class=n' if i >= block.numeric_from else ''}>{html.escape(str(c))}</td>" for i, c in enumerate(row)) + "</tr>"
                for row in block.rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        else:
            data = base64.b64encode((base_dir / block.path).read_bytes()).decode()
            parts.append(f"<figure><img alt=\"{html.escape(block.alt)}\" src=\"data:image/png;base64,{data}\"><figcaption>{html.escape(block.alt)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


_INLINE = re.compile(r"(\\.|\*\*|`)")


def _inline(text: str) -> str:
    """Render Markdown's **bold**, `code` and backslash escapes (all the inline markup
    used); everything else is escaped text."""
    out, bold, code = [], False, False
    for piece in _INLINE.split(text):
        if piece == "**":
            out.append("</strong>" if bold else "<strong>")
            bold = not bold
        elif piece == "`":
            out.append("</code>" if code else "<code>")
            code = not code
        elif len(piece) == 2 and piece[0] == "\\":
            out.append(html.escape(piece[1]))
        else:
            out.append(html.escape(piece))
    return "".join(out)
