"""pyinfra facts the roles need that pyinfra does not ship: what a host may do to its
kernel. A container (a Proxmox LXC guest, a lab host) shares the kernel of its host
and must not try to set the clock, load audit rules or write kernel settings."""

from __future__ import annotations

from pyinfra.api import FactBase

CAP_SYS_TIME = 25
CAP_AUDIT_CONTROL = 30


class BoundingCapabilities(FactBase):
    """The capability numbers in the bounding set of the login shell (``CapBnd``)."""

    default = set

    def command(self) -> str:
        return "grep '^CapBnd:' /proc/self/status"

    def process(self, output: list[str]) -> set[int]:
        mask = int(output[0].split()[1], 16)
        return {bit for bit in range(64) if mask >> bit & 1}


class KernelSettingsWritable(FactBase):
    """Whether ``/proc/sys`` may be written (read-only in containers)."""

    def command(self) -> str:
        return "test -w /proc/sys/net/ipv4/conf/all/accept_redirects && echo yes || echo no"

    def process(self, output: list[str]) -> bool:
        return output[0].strip() == "yes"
