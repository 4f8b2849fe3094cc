"""The runbooks themselves: one Markdown file per alert, with YAML front matter.

The front matter is the machine-readable half (the alert, its severity, whom to call,
which read-only checks to run and how to read their findings); the Markdown body is
the human half, in Vietnamese and English. Both are validated here, so a typo in a
runbook is an error naming the file and the key, not a silently skipped check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hatang.errors import HatangError

RUNBOOK_DIR = Path(__file__).resolve().parent
ALERT_PREFIX = "Hatang"
Role = Literal["target", "uplink", "downlinks", "core"]
Status = Literal["ok", "fail", "warn", "skip", "error"]
"""ok / fail: the check got its answer, good or bad; warn: worth a look (a recent change);
skip: does not apply here; error: no answer to the question (a timeout, a refused login)."""
FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.S)


class RunbookError(HatangError):
    """A runbook file is malformed, or the runbook asked for does not exist."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """A sentence in both languages of the runbooks."""

    vi: str
    en: str


class EscalationStep(_Strict):
    """Whom to call next, by role (never by person), and when."""

    role: str
    vai_tro: str = Field(description="the role in Vietnamese")
    after_min: int = Field(ge=0, description="minutes after the alert fired")
    when: Text


class Diagnostic(_Strict):
    """One read-only check to run, on which device relative to the target."""

    check: str
    role: Role = "target"
    params: dict[str, float | int | str] = Field(default_factory=dict)


class NextStep(_Strict):
    """Advice shown when every condition holds. A condition is ``role.check`` mapped to
    one status or a list of statuses; it holds when any finding of that check on a
    device of that role has one of them. No condition: the fallback advice."""

    when: dict[str, Status | list[Status]] = Field(default_factory=dict)
    vi: str
    en: str


class FrontMatter(_Strict):
    alert: str = Field(pattern=rf"^{ALERT_PREFIX}[A-Z][A-Za-z]+$")
    severity: Literal["critical", "warning", "info"]
    title: Text
    summary: Text
    users_feel: Text
    escalation: list[EscalationStep] = Field(min_length=2)
    diagnostics: list[Diagnostic] = Field(min_length=1)
    next_steps: list[NextStep] = Field(min_length=1)


@dataclass(frozen=True)
class Runbook:
    path: Path
    meta: FrontMatter
    body: str

    @property
    def alert(self) -> str:
        return self.meta.alert

    @property
    def name(self) -> str:
        return self.path.stem


def kebab_name(alert: str) -> str:
    """The runbook file stem of an alert: ``HatangWanLinkDown`` → ``wan-link-down``."""
    bare = alert.removeprefix(ALERT_PREFIX)
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", bare).lower()


def _describe(error: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in error.errors()]


def parse(path: Path) -> Runbook:
    """Read and validate one runbook file."""
    match = FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    if not match:
        raise RunbookError(f"{path}: no YAML front matter (the file must start with a '---' block)")
    try:
        raw = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise RunbookError(f"{path}: the front matter is not valid YAML", details=[str(exc)]) from None
    try:
        meta = FrontMatter.model_validate(raw)
    except ValidationError as exc:
        raise RunbookError(f"{path}: invalid front matter", details=_describe(exc)) from None
    if kebab_name(meta.alert) != path.stem:
        raise RunbookError(f"{path}: alert '{meta.alert}' belongs in {kebab_name(meta.alert)}.md")
    if problems := cross_check(meta):
        raise RunbookError(f"{path}: inconsistent front matter", details=problems)
    return Runbook(path=path, meta=meta, body=match.group(2).strip() + "\n")


def cross_check(meta: FrontMatter) -> list[str]:
    """What the schema cannot see: unknown checks, conditions on checks the runbook
    does not run, and a missing fallback step."""
    from hatang.runbooks.checks import CHECKS

    problems = [f"diagnostics[{i}].check: unknown check '{d.check}' (known: {', '.join(sorted(CHECKS))})" for i, d in enumerate(meta.diagnostics) if d.check not in CHECKS]
    declared = {f"{d.role}.{d.check}" for d in meta.diagnostics}
    for i, step in enumerate(meta.next_steps):
        problems += [f"next_steps[{i}].when: '{key}' is not among the diagnostics ({', '.join(sorted(declared))})" for key in step.when if key not in declared]
    if meta.next_steps[-1].when:
        problems.append("next_steps: the last step must have no 'when' (the advice when nothing else applies)")
    return problems


@lru_cache(maxsize=4)
def load_all(directory: Path = RUNBOOK_DIR) -> tuple[Runbook, ...]:
    """Every runbook in ``directory``, by alert name."""
    return tuple(sorted((parse(p) for p in directory.glob("*.md")), key=lambda r: r.alert))


def find(query: str, directory: Path = RUNBOOK_DIR) -> Runbook:
    """The runbook of an alert, by alert name (``HatangDeviceDown``) or file name
    (``device-down`` or ``device-down.md``), case-insensitively."""
    wanted = query.strip().lower().removesuffix(".md")
    for runbook in load_all(directory):
        if wanted in (runbook.alert.lower(), runbook.name):
            return runbook
    known = ", ".join(r.alert for r in load_all(directory))
    raise RunbookError(f"no runbook for '{query}' (known alerts: {known}; see 'hatang runbook list')")
