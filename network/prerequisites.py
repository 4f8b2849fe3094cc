"""What each production platform must have configured before hatang can push to it.

napalm's drivers rely on device features hatang's own templates configure; a router
still on its factory or hand-made configuration may lack them, and the very first
push would fail half way (IOS: ``CommitConfirmException`` after the candidate was
copied). ``hatang net preflight`` looks for each one in the running configuration and
prints the exact lines that add it; ``docs/platforms.md`` lists them with why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Prerequisite:
    """One feature a platform's driver needs: how to recognise it in the running
    configuration, the lines that add it, and why the driver needs it."""

    name: str
    present: re.Pattern[str]
    lines: tuple[str, ...]
    why: str
    in_band_lines: tuple[str, ...] | None = None  # when a router managed in band needs other lines

    def met(self, running: str) -> bool:
        return bool(self.present.search(running))

    def fix(self, in_band: bool) -> list[str]:
        """The lines that add it on a router managed in band or out of band."""
        return list(self.in_band_lines if in_band and self.in_band_lines is not None else self.lines)


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text, re.MULTILINE)


PREREQUISITES: dict[str, tuple[Prerequisite, ...]] = {
    "ios": (
        Prerequisite("archive", _pattern(r"^archive\n(?: .*\n)*? path \S+"), ("archive", " path flash:hatang-archive", " maximum 14"),
                     "napalm's IOSDriver commits with a revert timer through `configure replace … time N`, which needs the archive feature; without it commit_config(revert_in=…) raises CommitConfirmException"),
        Prerequisite("scp server", _pattern(r"^ip scp server enable$"), ("ip scp server enable",),
                     "napalm's IOSDriver copies the candidate and its rollback file to flash: by SCP"),
    ),
    "eos": (
        Prerequisite("eAPI", _pattern(r"^\s*management api http-commands\n(?:[ \t]+.*\n)*?[ \t]+no shutdown$"), ("management api http-commands", "   protocol https", "   no shutdown"),
                     "napalm's EOSDriver speaks eAPI (pyeapi) and commits through a configuration session with a commit timer"),
        Prerequisite("eAPI only from the management network", _pattern(r"^\s*management api http-commands\n(?:[ \t]+.*\n)*?[ \t]+ip access-group \S+"),
                     ("management api http-commands", "   vrf MGMT", "      no shutdown", "      ip access-group MGMT-ONLY"),
                     "eAPI accepts configuration: like SSH, only the IIC management network may reach it",
                     in_band_lines=("management api http-commands", "   vrf default", "      no shutdown", "      ip access-group MGMT-ONLY")),
    ),
    "junos": (
        Prerequisite("NETCONF over SSH", _pattern(r"^\s*netconf \{\s*\n\s*ssh;|^set system services netconf ssh"), ("set system services netconf ssh",),
                     "napalm's JunOSDriver (PyEZ) works over NETCONF on SSH: load, commit confirmed, rollback"),
    ),
    "huawei_vrp": (
        Prerequisite("SSH (STelnet) server", _pattern(r"^ ?stelnet server enable$"), ("stelnet server enable",),
                     "napalm-huawei-vrp drives VRP's CLI over SSH (netmiko); hatang's VRP push merges through it"),
        Prerequisite("SSH on the VTY lines", _pattern(r"^user-interface vty 0 4\n(?: .*\n)*? protocol inbound (?:ssh|all)$"),
                     ("user-interface vty 0 4", " protocol inbound ssh"), "the VTY lines must accept SSH for netmiko to log in"),
    ),
}


def missing(platform: str, running: str) -> list[Prerequisite]:
    """The prerequisites of ``platform`` absent from its running configuration."""
    return [p for p in PREREQUISITES.get(platform, ()) if not p.met(running)]


def markdown() -> str:
    """The prerequisites section of docs/platforms.md."""
    lines = ["## Prerequisites on the device", "",
             "`hatang net preflight` checks each one in the running configuration (and `net push` before it touches a router);",
             "hatang's templates configure all of them.", "",
             "| platform | prerequisite | lines that add it | why |", "|---|---|---|---|"]
    for platform, items in PREREQUISITES.items():
        for item in items:
            fix = f"`{'` / `'.join(l.strip() for l in item.lines)}`"
            if item.in_band_lines is not None:
                fix = f"out of band: {fix}; in band: `{'` / `'.join(l.strip() for l in item.in_band_lines)}`"
            lines.append(f"| {platform} | {item.name} | {fix} | {item.why} |")
    return "\n".join(lines) + "\n"
