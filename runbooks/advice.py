"""From findings to the next step: the runbook's ``next_steps`` read as data.

Each step's ``when`` maps ``role.check`` to statuses; a step applies when every
condition holds for at least one finding. The first step that applies is the advice
(steps are written most specific first); a step with no conditions is the fallback.
Its text may name what the findings found: ``{target}``, ``{site}`` (the slug, for a
command's argument), ``{site_name}`` (the site as people read it: the 2025 unit first,
the old name second, ``display_name``), ``{uplink}``,
``{uplink_port}`` (the uplink neighbour's port facing the target), ``{target_port}``,
``{link}`` (the target's uplink), ``{down_links}`` (every link seen down), ``{core}``,
``{unreachable}`` (the devices whose management address did not answer ping).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hatang.runbooks.catalog import NextStep
from hatang.runbooks.findings import Finding


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def holds(step: NextStep, findings: Iterable[Finding]) -> bool:
    findings = list(findings)
    for key, wanted in step.when.items():
        role, _, check = key.partition(".")
        statuses = {wanted} if isinstance(wanted, str) else set(wanted)
        if not any(f.role == role and f.check == check and f.status in statuses for f in findings):
            return False
    return True


def down_links(findings: Iterable[Finding]) -> list[str]:
    """Every link a finding saw down, on either end, in order of first sight (a port
    without a link, the LAN, by device and port)."""
    links: list[str] = []
    for finding in findings:
        for port in finding.data.get("down", []):
            name = port.get("link") or f"{finding.device} {port['port']} ({port.get('kind', 'port')})"
            if name not in links:
                links.append(name)
    return links


def unreachable(findings: Iterable[Finding]) -> list[str]:
    return [f.device for f in findings if f.check == "mgmt_ping" and f.status == "fail"]


@dataclass(frozen=True)
class Advice:
    vi: str
    en: str
    matched: dict[str, object]


UNRECOGNISED = Advice(
    vi="Kết quả không khớp mẫu nào của runbook này: đọc các dòng FAIL/ERROR ở trên, chạy lại lệnh sau vài phút, và báo trưởng nhóm mạng kèm kết quả (--json).",
    en="The findings match none of this runbook's patterns: read the FAIL/ERROR rows above, run it again in a few minutes, and send the result (--json) to the network team lead.",
    matched={},
)


def advise(steps: Iterable[NextStep], findings: list[Finding], facts: Mapping[str, str]) -> Advice:
    """The first step whose conditions hold, its text filled in from ``facts`` and the
    links found down. The fallback step (no conditions) speaks for a clean result, so
    when checks failed and no pattern matched, the advice says exactly that instead."""
    values = _Blank(facts)
    values["down_links"] = ", ".join(down_links(findings)) or "?"
    values["unreachable"] = ", ".join(unreachable(findings)) or "?"
    troubled = any(f.status in ("fail", "error") for f in findings)
    for step in steps:
        if not step.when and troubled:
            return UNRECOGNISED
        if holds(step, findings):
            return Advice(step.vi.format_map(values).strip(), step.en.format_map(values).strip(), dict(step.when))
    return UNRECOGNISED
