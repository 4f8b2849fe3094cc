"""``hatang net preflight``: can hatang push to this router, before it touches it?

Read-only, per device: reachability and credentials (the driver opens), the SSH host
key already known, the platform, model and software version the router reports against
the inventory (a device's ``model`` and ``os_version``),
the platform's prerequisites in its running configuration (``prerequisites.py``), free
flash for the candidate and the rollback file where the driver copies files, and no
commit already waiting for its confirm. Every problem comes with what fixes it: the
exact configuration lines, or the command to run. ``net push`` runs the same checks on
each device of the canary and of every wave, and stops that device before its first
change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import paramiko
from napalm.base import NetworkDriver

from hatang.inventory.inventory import Inventory
from hatang.network import prerequisites
from hatang.network.connect import driver_for, known_hosts_path, run_per_router
from hatang.network.render import Renderer
from hatang.network.state import state_reader
from hatang.network.state.parse import textfsm_rows
from hatang.network.state.readers import version_matches
from hatang.results import Result, Results, describe_exception

#: The vendor each platform's router reports in napalm's get_facts.
VENDORS = {"frr": "frrouting", "ios": "cisco", "eos": "arista", "junos": "juniper", "huawei_vrp": "huawei"}
#: Where a driver copies files to the router's flash: the command listing it, its
#: ntc-templates platform and the unit of TOTAL_FREE. EOS (eAPI sessions) and Junos
#: (NETCONF) load the candidate without a file.
FLASH = {"ios": ("dir", "cisco_ios", 1), "huawei_vrp": ("dir", "huawei_vrp", 1024)}
#: The candidate and the rollback copy, with room to spare.
FLASH_FACTOR = 3
#: What each preflight item reads: a getter of the state layer or a named source
#: (docs/platforms.md).
NEEDS = {
    "host key": ("hatang's known_hosts file",),
    "reachable, credentials accepted": ("the driver's login",),
    "platform": ("facts",),
    "software version": ("facts",),
    "prerequisites": ("running_config",),
    "free flash": ("`dir` parsed by ntc-templates on IOS and VRP (nothing to read where the driver copies no file)",),
    "no pending commit": ("napalm has_pending_commit",),
}


@dataclass
class Item:
    """One preflight check of one device: passed, or what is wrong and what fixes it."""

    name: str
    ok: bool
    detail: str = ""
    fix: list[str] = field(default_factory=list)
    action: str = "add"  # what the operator does with ``fix``: add the lines, or run or do it

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix, "action": self.action}


def failed(items: Sequence[Item]) -> list[Item]:
    return [i for i in items if not i.ok]


def describe(items: Sequence[Item]) -> str:
    """The failed items in one line, for a push's error column."""
    return "; ".join(f"{i.name}: {i.detail}" + (f" ({i.action}: {' / '.join(l.strip() for l in i.fix)})" if i.fix else "") for i in failed(items))


def host_key(inv: Inventory, name: str) -> Item:
    """Production routers are reached only with a host key already recorded."""
    address = str(inv.mgmt(name).ip)
    path = known_hosts_path(inv.env)
    if inv.env == "lab":
        return Item("host key", True, "the lab records keys on first contact")
    keys = paramiko.HostKeys(str(path)) if path.exists() else paramiko.HostKeys()
    if keys.lookup(address):
        return Item("host key", True, f"{address} in {path}")
    return Item("host key", False, f"no host key for {address} in {path}",
                [f"ssh-keyscan -t ed25519,rsa {address} >> {path}  # after checking the fingerprint on the console"], "run")


def identity_items(inv: Inventory, name: str, facts: dict[str, str]) -> list[Item]:
    """The platform, model and software version the router reports (the state layer's
    ``facts``) against the inventory. ``model`` and ``os_version`` describe the
    production device: a router running another platform (FRR in the lab) is checked
    on its vendor only."""
    platform, device = inv.platform(name), inv.device(name)
    own = platform == device.platform
    vendor, model, version = facts["vendor"], facts["model"], facts["os_version"]
    ok = VENDORS[platform.value] in vendor.lower() and (not own or not device.model or device.model.lower() in model.lower())
    items = [Item("platform", ok, f"{vendor} {model} {version}".strip()
                  + ("" if ok else f"; the inventory says {platform.value}{' ' + device.model if own and device.model else ''}"))]
    if not own:
        items.append(Item("software version", True, f"{version or 'unknown'} (not compared: the inventory's os_version is for {device.platform.value}, this router runs {platform.value})"))
    elif not device.os_version:
        items.append(Item("software version", True, f"{version or 'unknown'} (the inventory states no os_version for {name})"))
    elif version_matches(device.os_version, version):
        items.append(Item("software version", True, f"{version}, the inventory says {device.os_version}"))
    else:
        items.append(Item("software version", False, f"{name} runs {version or 'an unknown version'}, the inventory says {device.os_version}",
                          [f"upgrade {name} to {device.os_version}, or, once {version} is approved, set os_version: {version} on {name} in the inventory's network.yaml"
                           if version else f"check 'show version' on {name}"], "do"))
    return items


def device_items(inv: Inventory, name: str, driver: NetworkDriver, candidate: str) -> list[Item]:
    """The checks that need the opened driver (everything but reachability and host key)."""
    platform = inv.platform(name).value
    reader = state_reader(driver, platform)
    items = identity_items(inv, name, reader.facts())
    running = reader.running_config()
    for item in prerequisites.PREREQUISITES.get(platform, ()):
        items.append(Item(item.name, item.met(running), "configured" if item.met(running) else f"missing: {item.why}", [] if item.met(running) else item.fix(inv.in_band(name))))
    if platform in FLASH:
        command, template, unit = FLASH[platform]
        rows = textfsm_rows(template, command, driver.cli([command])[command])
        total_free = str(rows[0].get("total_free", "")).replace(",", "") if rows else ""  # VRP: 801,664 KB free
        free = int(total_free) * unit if total_free.isdigit() else 0
        needed = FLASH_FACTOR * len(candidate.encode())
        items.append(Item("free flash", free >= needed, f"{free} bytes free, {needed} needed", [] if free >= needed else [f"delete unused files from flash: ({needed - free} bytes more)"], "do"))
    else:
        items.append(Item("free flash", True, "not needed: the driver loads the candidate without a file"))
    pending = driver.has_pending_commit()
    items.append(Item("no pending commit", not pending, "a commit is waiting for its confirm" if pending else "none",
                      ["confirm or roll back the pending commit on the router first"] if pending else []))
    return items


def check(inv: Inventory, name: str, driver: NetworkDriver, candidate: str) -> list[Item]:
    """The preflight items of ``name`` read over its opened ``driver``."""
    try:
        return device_items(inv, name, driver, candidate)
    except Exception as exc:  # a getter that fails is a failed preflight, never a push
        return [Item("read state", False, describe_exception(exc))]


def preflight(
    inv: Inventory,
    devices: Sequence[str],
    *,
    open_driver: Callable[[Inventory, str], NetworkDriver] = driver_for,
    show_progress: bool = True,
) -> Results:
    """One Result per device: ``data['items']``; ``ok`` when every item passed."""
    renderer = Renderer(inv)

    keys: dict[str, Item] = {}

    def unknown_key(name: str) -> Result | None:
        key = keys[name] = host_key(inv, name)
        return None if key.ok else Result(host=name, ok=False, error=describe([key]), data={"items": [key.as_dict()]})

    def unreachable(name: str, exc: Exception) -> Result:
        item = Item("reachable, credentials accepted", False, describe_exception(exc))
        return Result(host=name, ok=False, error=describe([item]), data={"items": [keys[name].as_dict(), item.as_dict()]})

    def task(name: str, driver: NetworkDriver) -> Result:
        items = [keys[name], Item("reachable, credentials accepted", True, str(inv.mgmt(name).ip)), *check(inv, name, driver, renderer.render(name).text)]
        return Result(host=name, ok=not failed(items), error=describe(items), data={"items": [i.as_dict() for i in items]})

    return run_per_router(inv, devices, task, open_driver=open_driver, refuse=unknown_key, unreachable=unreachable,
                          label="preflight", show_progress=show_progress)
