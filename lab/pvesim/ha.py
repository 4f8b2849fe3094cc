"""The HA manager: requests carried out later, and recovery after fencing.

As pve-ha-manager's CRM (src/PVE/HA/Manager.pm) does, on each round:
- a queued ``migrate`` request (from ``hamigrate`` or ``/cluster/ha/resources/{sid}/migrate``)
  moves the guest, unless a member of one of its negative resource-affinity rules runs on
  the target: then the request is dropped (``get_resource_motion_info`` names those
  blocking resources) and the guest stays where it is;
- a guest is brought to its requested state (``started``: pending changes applied;
  ``stopped``);
- when a node stays offline past the fence delay, each HA-managed guest (requested state
  ``started``) on it is recovered to an online node, never beside a member of one of its
  negative resource-affinity rules (a guest with nowhere to go stays down), the
  least-loaded node first (ties by name). Guests without HA stay on the lost node, unknown.
"""

from __future__ import annotations

import logging
import threading
import time

from hatang.lab.pvesim.faults import Faults
from hatang.lab.pvesim.store import ClusterState

log = logging.getLogger("pvesim")


class HaManager:
    def __init__(self, state: ClusterState, faults: Faults, fence_s: float):
        self.state = state
        self.faults = faults
        self.fence_s = fence_s
        self._offline_since: dict[str, float] = {}

    def start(self) -> None:
        threading.Thread(target=self._loop, daemon=True, name=f"ha-{self.state.name}").start()

    def _loop(self) -> None:
        while True:
            self.tick(time.monotonic())
            time.sleep(min(0.5, max(0.05, self.fence_s / 4)))

    def tick(self, now: float) -> None:
        offline = {n for n in self.state.data["nodes"] if self.faults.is_offline(n)}
        self._offline_since = {n: self._offline_since.get(n, now) for n in offline}
        fenced = {n for n, since in self._offline_since.items() if now - since >= self.fence_s}
        with self.state.lock:
            changed = self._requests(offline)
            changed = self._recover(fenced, offline) if fenced else changed
            if changed:
                self.state.save()

    def _requests(self, offline: set[str]) -> bool:
        data = self.state.data
        changed = False
        for sid, target in sorted(data["ha"].pop("requests", {}).items()):
            guest = data["guests"].get(sid.split(":")[1])
            changed = True
            if guest is None or target in offline or guest["node"] in offline:
                continue
            if target in self.forbidden_nodes(sid):
                log.warning("HA: migrate %s to %s blocked by negative resource affinity", sid, target)
                continue
            guest["node"] = target
        for sid, conf in data["ha"]["resources"].items():
            guest = data["guests"].get(sid.split(":")[1])
            if guest is None or guest["node"] in offline or guest["config"].get("lock"):
                continue
            wanted = {"started": "running", "stopped": "stopped"}.get(conf.get("state", "started"))
            if wanted and guest["status"] != wanted:
                if wanted == "running":
                    guest["config"].update(guest.pop("pending", {}))
                guest["status"] = wanted
                changed = True
        return changed

    def _recover(self, fenced: set[str], offline: set[str]) -> bool:
        data = self.state.data
        online = sorted(set(data["nodes"]) - offline)
        moved = False
        for vmid, guest in sorted(data["guests"].items(), key=lambda item: int(item[0])):
            sid = f"{'ct' if guest['type'] == 'lxc' else 'vm'}:{vmid}"
            conf = data["ha"]["resources"].get(sid)
            if guest["node"] not in fenced or conf is None or conf.get("state", "started") != "started":
                continue
            target = self._target(sid, online)
            if target is None:
                log.warning("HA: %s has no node to recover to (negative affinity)", sid)
                continue
            log.info("HA: recovering %s from fenced %s to %s", sid, guest["node"], target)
            guest["node"], guest["status"] = target, "running"
            guest["config"].pop("lock", None)
            moved = True
        return moved

    def forbidden_nodes(self, sid: str) -> dict[str, str]:
        """Nodes ``sid`` may not run on → the member of a negative rule running there."""
        return blocking(self.state.data, sid)

    def _target(self, sid: str, online: list[str]) -> str | None:
        data = self.state.data
        forbidden = self.forbidden_nodes(sid)
        load = {n: sum(1 for g in data["guests"].values() if g["node"] == n) for n in online}
        allowed = [n for n in online if n not in forbidden]
        return min(allowed, key=lambda n: (load[n], n)) if allowed else None


def blocking(data: dict, sid: str) -> dict[str, str]:
    """Nodes ``sid`` may not run on → the member of one of its negative resource-affinity
    rules that runs there (pve-ha-manager's ``get_resource_motion_info``)."""
    out: dict[str, str] = {}
    for rule in data["ha"]["rules"].values():
        members = rule["resources"].split(",")
        if rule.get("type") == "resource-affinity" and rule.get("affinity") == "negative" and sid in members:
            for other in members:
                guest = data["guests"].get(other.split(":")[1])
                if other != sid and guest is not None:
                    out.setdefault(guest["node"], other)
    return out
