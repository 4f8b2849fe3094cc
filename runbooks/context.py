"""What a diagnostic check is given, and what it gives back.

A check is a plain function ``check(ctx) -> Outcome``; it reads (ping, SNMP GET/WALK,
napalm getters, the audit log) and never writes. The engine decides which device it
looks at (the ``Subject``) from the runbook's front matter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hatang.inventory.inventory import Inventory, Port
from hatang.runbooks.catalog import Role, Status

if TYPE_CHECKING:
    from hatang.network.state import StateReader
    from hatang.runbooks.access import DriverPool


@dataclass(frozen=True)
class Subject:
    """One device a check looks at, in its role relative to the target, and the ports of
    that device this diagnosis is about (the target's WAN ports; a neighbour's port
    facing the target)."""

    role: Role
    device: str
    ports: tuple[Port, ...] = ()


@dataclass
class Outcome:
    """The finding of one check: a status, one line for the table, and the evidence."""

    status: Status
    summary: str
    details: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckContext:
    inv: Inventory
    subject: Subject
    target: str
    core: str | None
    params: Mapping[str, Any]
    drivers: "DriverPool"
    now: datetime

    @property
    def device(self) -> str:
        return self.subject.device

    def state(self, device: str | None = None) -> "StateReader":
        """The state layer's reader of ``device`` (default: the subject), over its
        read-only session."""
        from hatang.network.state import state_reader

        device = device or self.device
        return state_reader(self.drivers.get(device), self.inv.platform(device).value)

    def param(self, name: str, default: Any) -> Any:
        """A parameter of this diagnostic from the front matter, typed like its default."""
        return type(default)(self.params.get(name, default))


Check = Callable[[CheckContext], Outcome]
