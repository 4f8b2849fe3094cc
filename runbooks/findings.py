"""One finding per check and device, and the report of a whole diagnosis."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hatang.runbooks.catalog import Role, Status


@dataclass
class Finding:
    """What one check found on one device (``error`` holds why a check got no answer:
    the device did not answer, a timeout, a refused login)."""

    check: str
    role: Role
    device: str
    status: Status
    summary: str
    details: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    duration_s: float = 0.0


@dataclass
class Report:
    alert: str
    runbook: str
    target: str
    site: str
    site_name: str  # as people read it: the 2025 unit first, the old name second
    env: str
    started: str
    duration_s: float
    findings: list[Finding]
    next_step: dict[str, str]
    timeouts: dict[str, float]

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.status in ("fail", "error")]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"failed": len(self.failed)}
