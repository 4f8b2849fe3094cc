"""One reader of operational state per platform, over an opened napalm driver.

Every caller that needs to know how a router is doing — the push's post-checks, the
runbooks' diagnostics, backups — asks a :class:`StateReader`, never the driver's CLI:
the reader picks the best source its platform offers (a napalm getter where one
exists, structured output — EOS JSON, Junos RPC XML — otherwise, a maintained
TextFSM template of ntc-templates for text-only CLIs) and answers in one shape on
every platform. A getter a platform cannot answer raises :class:`Unsupported` with
the reason, which ``docs/platforms.md`` also shows.

    reader = state_reader(driver, "ios")
    full = [n for n in reader.ospf_neighbors() if n["is_full"]]
"""

from __future__ import annotations

import ipaddress
import re
import time
from typing import Any, ClassVar

from hatang.errors import HatangError
from hatang.network.state.parse import json_document, own_template_rows, textfsm_rows, xml_document

#: The getters every platform answers (or declares unsupported, with the reason).
GETTERS = ("interfaces", "ospf_neighbors", "route_to", "ping", "flaps", "arp", "running_config", "config_diff", "facts")
NAPALM = {
    "interfaces": "napalm get_interfaces",
    "arp": "napalm get_arp_table",
    "route_to": "napalm get_route_to",
    "ping": "napalm ping",
    "flaps": "napalm get_interfaces (last_flapped)",
    "running_config": "napalm get_config",
    "config_diff": "napalm compare_config of the intended configuration",
    "facts": "napalm get_facts",
}
#: An adjacency state as the platforms spell it → one spelling.
_STATE_NAMES = {"2way": "2-Way", "2-way": "2-Way", "exstart": "ExStart", "exchange": "Exchange", "loading": "Loading",
                "full": "Full", "init": "Init", "down": "Down", "attempt": "Attempt"}


class Unsupported(HatangError):
    """The platform cannot answer this getter (the message says why)."""


def ospf_state(text: str) -> str:
    """``FULL/DR``, ``full``, ``Full`` → ``Full``; unknown states pass through."""
    state = text.split("/")[0].strip()
    return _STATE_NAMES.get(state.lower(), state)


def neighbor(neighbor_id: str, address: str, interface: str, state: str) -> dict[str, Any]:
    """One OSPF adjacency in the shape every platform answers."""
    state = ospf_state(state)
    return {"neighbor_id": neighbor_id, "address": address, "interface": interface, "state": state, "is_full": state == "Full"}


def destination(prefix: str) -> str:
    """``prefix`` as an address or network, checked before it reaches a device's CLI."""
    try:
        return str(ipaddress.ip_network(prefix, strict=False)) if "/" in prefix else str(ipaddress.ip_address(prefix))
    except ValueError:
        raise HatangError(f"'{prefix}' is not an IP address or prefix") from None


def version_matches(expected: str, found: str) -> bool:
    """Whether the software version ``found`` on a device is the inventory's ``expected``
    one: the same, or ``expected`` is a leading part of it that ends where a number or a
    word of ``found`` ends (case aside). ``15.9(3)M`` matches ``15.9(3)M7``, ``4.30.2F``
    matches ``4.30.2F-33092737.4302F``, ``23.2R1`` matches ``23.2R1-S1.6``; ``4.3`` does
    not match ``4.30.2F``, nor ``23.2R1`` ``23.2R10``."""
    expected, found = expected.strip().lower(), found.strip().lower()
    if not expected or not found.startswith(expected):
        return False
    if len(found) == len(expected):
        return True
    last, following = expected[-1], found[len(expected)]
    return not (last.isdigit() and following.isdigit() or last.isalpha() and following.isalpha())


class StateReader:
    """The napalm getters every core driver has; platforms override what they lack."""

    platform: ClassVar[str] = ""
    #: Where each getter's answer comes from (docs/platforms.md).
    sources: ClassVar[dict[str, str]] = NAPALM
    #: Getters this platform cannot answer, and why.
    unsupported: ClassVar[dict[str, str]] = {}
    #: The CLI commands this reader sends (``{}``: an address or prefix it checked): the
    #: runbooks' read-only guard lets exactly these through.
    commands: ClassVar[tuple[str, ...]] = ()

    def __init__(self, driver: Any):
        self.driver = driver

    def _unsupported(self, getter: str) -> None:
        if getter in self.unsupported:
            raise Unsupported(f"{self.platform}: {getter} is not available: {self.unsupported[getter]}")

    def _cli(self, command: str, encoding: str = "text") -> Any:
        """One command's answer (napalm-huawei-vrp's ``cli`` takes no ``encoding``)."""
        answer = self.driver.cli([command], encoding=encoding) if encoding != "text" else self.driver.cli([command])
        return answer[command]

    def interfaces(self) -> dict[str, dict[str, Any]]:
        """``{name: {"enabled", "up", "description", "last_flapped_s"}}`` (``None``: unknown)."""
        self._unsupported("interfaces")
        return {
            name: {
                "enabled": bool(item.get("is_enabled")),
                "up": bool(item.get("is_up")),
                "description": item.get("description", ""),
                "last_flapped_s": self._seconds_since(float(item.get("last_flapped", -1.0))),
            }
            for name, item in self.driver.get_interfaces().items()
        }

    @staticmethod
    def _seconds_since(last_flapped: float) -> float | None:
        """napalm's last_flapped (seconds since the change; negative: unknown)."""
        return None if last_flapped < 0 else last_flapped

    def ospf_neighbors(self) -> list[dict[str, Any]]:
        """``[{"neighbor_id", "address", "interface", "state", "is_full"}]``."""
        raise NotImplementedError

    def route_to(self, prefix: str) -> list[dict[str, Any]]:
        """The routes to ``prefix``: ``[{"prefix", "protocol", "next_hop", "interface", "active"}]``."""
        self._unsupported("route_to")
        routes = self.driver.get_route_to(destination=destination(prefix)) or {}
        return [
            {"prefix": found, "protocol": str(r.get("protocol", "")).lower(), "next_hop": r.get("next_hop", ""),
             "interface": r.get("outgoing_interface", ""), "active": bool(r.get("current_active"))}
            for found, entries in routes.items() for r in entries
        ]

    def ping(self, address: str, *, source: str = "", count: int = 1, timeout: float = 1) -> dict[str, Any]:
        """A ping from the device: ``{"sent", "received", "rtt_avg_ms", "error"}``."""
        self._unsupported("ping")
        reply = self.driver.ping(destination(address), source=source, count=count, timeout=timeout)
        if "error" in reply:
            return {"sent": count, "received": 0, "rtt_avg_ms": None, "error": str(reply["error"])}
        success = reply.get("success", {})
        sent = int(success.get("probes_sent", count))
        received = sent - int(success.get("packet_loss", sent))
        return {"sent": sent, "received": received, "rtt_avg_ms": success.get("rtt_avg") if received else None, "error": ""}

    def flaps(self, within_s: float) -> list[dict[str, Any]]:
        """Interfaces whose state changed in the last ``within_s`` seconds, latest first."""
        self._unsupported("flaps")
        changed = [{"interface": name, "seconds_ago": item["last_flapped_s"], "up": item["up"]}
                   for name, item in self.interfaces().items()
                   if item["last_flapped_s"] is not None and item["last_flapped_s"] <= within_s]
        return sorted(changed, key=lambda c: c["seconds_ago"])

    def arp(self) -> list[dict[str, Any]]:
        """The device's IPv4 ARP table: ``[{"ip", "mac", "interface", "state"}]``; an
        unresolved entry has mac ``""`` (``state``: ``None`` where the platform gives none)."""
        self._unsupported("arp")
        return [{"ip": str(e.get("ip", "")), "mac": str(e.get("mac", "") or ""), "interface": str(e.get("interface", "")), "state": e.get("state")}
                for e in self.driver.get_arp_table()]

    def running_config(self) -> str:
        self._unsupported("running_config")
        return self.driver.get_config(retrieve="running")["running"]

    def config_diff(self, intended: str) -> str:
        """The running configuration against ``intended``, as a diff (``""``: in sync).
        The platform's own diff engine reads the running configuration where it has one:
        it knows the defaults and the order the device prints, which a text diff made by
        hatang would report as drift. The candidate is discarded; nothing is committed."""
        self._unsupported("config_diff")
        self.driver.load_replace_candidate(config=intended)
        try:
            return self.driver.compare_config().strip("\n")
        finally:
            self.driver.discard_config()

    def facts(self) -> dict[str, str]:
        """``{"vendor", "model", "os_version", "hostname"}``: ``os_version`` is the version
        proper (what an inventory states), not the platform's whole banner."""
        self._unsupported("facts")
        facts = self.driver.get_facts()
        return {"vendor": str(facts.get("vendor", "")), "model": str(facts.get("model", "")),
                "os_version": self._version(str(facts.get("os_version", ""))), "hostname": str(facts.get("hostname", ""))}

    @staticmethod
    def _version(os_version: str) -> str:
        return os_version.strip()


class FrrReader(StateReader):
    platform = "frr"
    sources = {**NAPALM, "ospf_neighbors": "hatang FRR driver get_ospf_neighbors (show ip ospf neighbor json)",
               "interfaces": "hatang FRR driver get_interfaces (show interface json)",
               "route_to": "hatang FRR driver get_route_to (show ip route json)",
               "ping": "hatang FRR driver ping (iputils in the router's namespace)",
               "flaps": "hatang FRR driver get_interfaces (zebra's lastLinkUp/lastLinkDown in show interface json)",
               "arp": "hatang FRR driver get_arp_table (the kernel's neighbour table, ip -j -4 neigh show)",
               "running_config": "hatang FRR driver get_config (show running-config)",
               "config_diff": "hatang's FRR agent on the router: frr-reload.py's own parser and comparison, imported, of the intended configuration against show running-config",
               "facts": "hatang FRR driver get_facts (show version)"}

    def ospf_neighbors(self) -> list[dict[str, Any]]:
        return [neighbor(n["neighbor_id"], n["address"], n["interface"], n["state"]) for n in self.driver.get_ospf_neighbors()]


class IosReader(StateReader):
    platform = "ios"
    OSPF = "show ip ospf neighbor"
    sources = {**NAPALM, "ospf_neighbors": "ntc-templates cisco_ios_show_ip_ospf_neighbor",
               "config_diff": "napalm compare_config: show archive config differences of the intended configuration against system:running-config",
               "facts": "napalm get_facts (show version; the version is the banner's `Version …`)"}
    unsupported = {"flaps": "IOS reports no time of an interface's last state change (napalm's IOS driver answers last_flapped -1); SNMP ifLastChange is the source"}
    commands = (OSPF,)
    _VERSION = re.compile(r"Version ([^,\s]+)")

    @classmethod
    def _version(cls, os_version: str) -> str:
        """napalm's IOS driver gives the banner, ``C2960 Software (C2960-LANBASEK9-M),
        Version 15.0(2)SE4, RELEASE SOFTWARE (fc1)``: the version is ``15.0(2)SE4``."""
        found = cls._VERSION.search(os_version)
        return found.group(1) if found else os_version.strip()

    def ospf_neighbors(self) -> list[dict[str, Any]]:
        rows = textfsm_rows("cisco_ios", self.OSPF, self._cli(self.OSPF))
        return [neighbor(r["neighbor_id"], r["ip_address"], r["interface"], r["state"]) for r in rows]


class EosReader(StateReader):
    platform = "eos"
    OSPF = "show ip ospf neighbor"
    sources = {**NAPALM, "ospf_neighbors": "EOS JSON (show ip ospf neighbor, eAPI)",
               "config_diff": "napalm compare_config: a configuration session's diffs against running-config",
               "facts": "napalm get_facts (show version's internalVersion)"}
    commands = (OSPF,)

    @staticmethod
    def _seconds_since(last_flapped: float) -> float | None:
        """napalm's EOS driver gives the time of the change (epoch seconds, from
        lastStatusChangeTimestamp), not the seconds since it."""
        return None if last_flapped < 0 else max(0.0, time.time() - last_flapped)

    def ospf_neighbors(self) -> list[dict[str, Any]]:
        document = json_document(self.OSPF, self._cli(self.OSPF, encoding="json"))
        found = []
        for vrf in document.get("vrfs", {}).values():
            for instance in vrf.get("instList", {}).values():
                for entry in instance.get("ospfNeighborEntries", []):
                    found.append(neighbor(entry.get("routerId", ""), entry.get("interfaceAddress", ""), entry.get("interfaceName", ""), entry.get("adjacencyState", "")))
        return found


class JunosReader(StateReader):
    platform = "junos"
    OSPF = "show ospf neighbor"
    sources = {**NAPALM, "ospf_neighbors": "Junos RPC get-ospf-neighbor-information (XML)",
               "config_diff": "napalm compare_config: show | compare of the intended configuration against the active one"}
    commands = (OSPF,)

    def ospf_neighbors(self) -> list[dict[str, Any]]:
        root = xml_document(self.OSPF, self._cli(self.OSPF, encoding="xml"))
        return [
            neighbor(entry.findtext("neighbor-id", "").strip(), entry.findtext("neighbor-address", "").strip(),
                     entry.findtext("interface-name", "").strip().removesuffix(".0"), entry.findtext("ospf-neighbor-state", ""))
            for entry in root.iter("ospf-neighbor")
        ]


class VrpReader(StateReader):
    """Huawei VRP through napalm-huawei-vrp (getters) and ntc-templates' Huawei
    templates; ntc-templates has none for the OSPF peer table, so hatang keeps one."""

    platform = "huawei_vrp"
    OSPF = "display ospf peer brief"
    ROUTE = "display ip routing-table {} verbose"
    INTERFACES = "display interface brief"
    VERSION = "display version"
    sources = {**NAPALM, "ospf_neighbors": "TextFSM template huawei_vrp_display_ospf_peer_brief (hatang's own: ntc-templates has none)",
               "route_to": "ntc-templates huawei_vrp_display_ip_routing-table_verbose (napalm-huawei-vrp's get_route_to is empty)",
               "interfaces": "ntc-templates huawei_vrp_display_interface_brief",
               "ping": "napalm-huawei-vrp ping", "running_config": "napalm-huawei-vrp get_config (display current-configuration)",
               "arp": "napalm-huawei-vrp get_arp_table (display arp all)",
               "config_diff": "the running_config getter against the intended lines, by napalm-huawei-vrp's contextual diff (diffplus): no candidate on the device",
               "facts": "ntc-templates huawei_vrp_display_version (napalm-huawei-vrp's get_facts reads S-series switches only: Unknown on an AR router)"}
    unsupported = {"flaps": "neither `display interface brief` nor napalm-huawei-vrp gives the time of a link change; SNMP ifLastChange is the source"}
    commands = (OSPF, ROUTE, INTERFACES, VERSION)

    def interfaces(self) -> dict[str, dict[str, Any]]:
        rows = textfsm_rows("huawei_vrp", self.INTERFACES, self._cli(self.INTERFACES))
        return {
            r["interface"]: {"enabled": not r["phy"].startswith("*"), "up": r["phy"] == "up" and r["protocol"].startswith("up"), "description": "", "last_flapped_s": None}
            for r in rows
        }

    def ospf_neighbors(self) -> list[dict[str, Any]]:
        rows = own_template_rows("huawei_vrp_display_ospf_peer_brief.textfsm", self.OSPF, self._cli(self.OSPF))
        return [neighbor(r["neighbor_id"], "", r["interface"], r["state"]) for r in rows]

    def facts(self) -> dict[str, str]:
        """``VRP (R) software, Version 5.170 (AR610 V300R019C13SPC200)``: the version is
        the product's, ``V300R019C13SPC200``; the model is the uptime line's."""
        rows = textfsm_rows("huawei_vrp", self.VERSION, self._cli(self.VERSION))
        row = rows[0] if rows else {}
        product = str(row.get("product_version", "")).split()
        return {"vendor": "Huawei", "model": str(row.get("model", "")), "os_version": product[-1] if product else "", "hostname": ""}

    def config_diff(self, intended: str) -> str:
        """VRP pushes merge (``network/drivers/vrp.py``): what the intended lines would
        add to the running configuration, computed here as the push computes it."""
        from hatang.network.drivers.vrp import contextual_diff

        return contextual_diff(intended, self.running_config())

    def route_to(self, prefix: str) -> list[dict[str, Any]]:
        command = self.ROUTE.format(destination(prefix))
        rows = textfsm_rows("huawei_vrp", "display ip routing-table verbose", self._cli(command))
        return [{"prefix": r["destination"], "protocol": r["protocol"].lower(), "next_hop": r["next_hop"], "interface": r["interface"],
                 "active": r["state"].startswith("Active")} for r in rows]


READERS: dict[str, type[StateReader]] = {cls.platform: cls for cls in (FrrReader, IosReader, EosReader, JunosReader, VrpReader)}


def state_reader(driver: Any, platform: str) -> StateReader:
    """The reader of ``platform`` over ``driver`` (opened, napalm-compatible)."""
    try:
        return READERS[platform](driver)
    except KeyError:
        raise HatangError(f"no state reader for platform '{platform}' (known: {', '.join(READERS)})") from None


def _pattern(command: str) -> re.Pattern[str]:
    return re.compile(re.escape(command).replace(re.escape("{}"), r"[0-9A-Fa-f.:/]{1,43}"))


#: Every command a reader may send, as a full-match pattern.
_READ_ONLY = tuple(_pattern(known) for reader in READERS.values() for known in reader.commands)


def read_only_command(command: str) -> bool:
    """Whether ``command`` is one a state reader sends (an address in place of ``{}``)."""
    return any(pattern.fullmatch(command) for pattern in _READ_ONLY)
