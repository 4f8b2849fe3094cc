"""``hatang net onboard SITE``: bring a commune added by ``hatang site add`` into service.

In order: (lab only) ``hatang lab up`` repairs the lab so the new router exists; the
district router (its new downlink) and the new CPE are pushed — district first, each
committed with a revert timer and confirmed only after its post-checks (management,
OSPF Full on the uplink, loopback reachable from the core, SNMP) — and the device is
written into the monitoring targets (Prometheus file_sd).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hatang.errors import HatangError
from hatang.inventory import model as m
from hatang.inventory.export import export
from hatang.inventory.inventory import Inventory
from hatang.network.push import PushReport, push
from hatang.paths import state_path


def default_targets_file() -> Path:
    return state_path("monitoring", "file_sd") / "hatang-network.json"


@dataclass
class Onboarding:
    device: str
    district_router: str
    report: PushReport
    targets_file: Path
    lab_repaired: bool

    @property
    def ok(self) -> bool:
        return self.report.ok

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "device": self.device,
            "district_router": self.district_router,
            "lab_repaired": self.lab_repaired,
            "targets_file": str(self.targets_file),
            "push": self.report.as_dict(),
        }


def _cpe_of(inv: Inventory, site: str) -> m.Device:
    cpe = next((d for d in inv.devices_at(site) if d.role == m.Role.commune_cpe), None)
    if cpe is None:
        raise HatangError(f"site '{site}' has no commune CPE to onboard (add it first: hatang site add)")
    return cpe


def repair_lab(inv: Inventory, device: str) -> None:
    """Run the lab's idempotent ``up`` on this inventory so ``device``'s router exists."""
    from hatang.lab import lifecycle
    from hatang.lab.context import LabContext, read_state

    state = read_state()
    if not state:
        raise HatangError("no lab is up: run 'hatang lab up' first")
    ctx = LabContext.load(state["size"], inv.directory)
    if device not in ctx.device_names:
        raise HatangError(f"{device} is not part of the {ctx.size} lab (see 'hatang inventory show'); use a larger lab")
    lifecycle.up(ctx)


def onboard(inv: Inventory, site: str, *, targets_file: Path | None = None, show_progress: bool = True) -> Onboarding:
    cpe = _cpe_of(inv, site)
    uplink = inv.uplink(cpe.name)
    if uplink is None:
        raise HatangError(f"{cpe.name} has no uplink in network.yaml")
    if inv.env == "lab":
        repair_lab(inv, cpe.name)
    report = push(inv, [uplink.peer, cpe.name], wave_size=1, max_failures=0, show_progress=show_progress)
    target = targets_file or default_targets_file()
    if report.ok:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(export(inv, "prometheus-sd")["targets.json"], encoding="utf-8")
    return Onboarding(cpe.name, uplink.peer, report, target, inv.env == "lab")
