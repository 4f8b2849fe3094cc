"""Months as integers (``year * 12 + month - 1``) so that arithmetic on them is plain."""

from __future__ import annotations

import re
from datetime import date

Month = int

_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> Month:
    """``'2026-11'`` → a Month; raises ValueError with the expected form."""
    match = _PATTERN.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"{text!r} is not a month (expected YYYY-MM, e.g. 2026-01)")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def month_str(month: Month) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def year_of(month: Month) -> int:
    return month // 12


def first_month_of(year: int) -> Month:
    return year * 12


def current_month(today: date | None = None) -> Month:
    today = today or date.today()
    return today.year * 12 + today.month - 1


def as_year_fraction(month: Month) -> float:
    """The middle of the month as a fractional year (2026-01 → 2026.04)."""
    return month / 12 + 1 / 24
