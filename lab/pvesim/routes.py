"""The simulator's route table: one handler per (method, schema path template).

A handler takes a :class:`Call` and returns the ``data`` of PVE's answer. Routes are
keyed by the schema's own path templates, so every served route is, by construction,
one the schema declares (the contract test checks it anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hatang.cloud.schema import Method
from hatang.lab.pvesim.access import Principal

if TYPE_CHECKING:
    from hatang.lab.pvesim.server import ClusterSim

Handler = Callable[["Call"], Any]
ROUTES: dict[tuple[str, str], Handler] = {}
# Handlers that take the cluster lock themselves (they wait on something meanwhile).
LOCKS_ITSELF: set[tuple[str, str]] = set()


@dataclass
class Call:
    sim: "ClusterSim"
    principal: Principal
    method: Method
    params: dict[str, Any]

    @property
    def verb(self) -> str:
        return self.method.verb

    @property
    def template(self) -> str:
        return self.method.path

    def __getitem__(self, name: str) -> Any:
        return self.params[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def flag(self, name: str) -> bool:
        return str(self.params.get(name, "0")).lower() in ("1", "true", "yes", "on")


def route(verb: str, *templates: str, locks_itself: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for template in templates:
            ROUTES[(verb, template)] = handler
            if locks_itself:
                LOCKS_ITSELF.add((verb, template))
        return handler

    return register


def served() -> list[tuple[str, str]]:
    """Every (method, path template) the simulator answers."""
    from hatang.lab.pvesim import api_backup, api_cluster, api_guests, api_restore, guest_agent  # noqa: F401  (they register routes)

    return sorted(ROUTES)
