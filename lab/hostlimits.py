"""Host-wide kernel limits a large lab needs, raised for its life, restored by ``down``.

Most of a router's kernel state lives in its own network namespace, but the IPv4
neighbour (ARP) table is one table for the whole machine: its ``gc_thresh3`` (1024 on a
stock kernel) caps the entries of every namespace together, and past it a new
neighbour is refused ("neighbour table overflow") and a router loses its peer. Each WAN
link gives two entries (one at each end), so the merged province's ~550 links need
about 1 100 on top of the host's own: ``up`` raises the three thresholds to what the lab
needs (never lowers a host's value) and records the values it found; ``down`` writes
them back. A lab that fits the host's values changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from hatang.console import info

#: Where the kernel's sysctls are (tests point it elsewhere).
PROC_SYS = Path("/proc/sys")
RECORD = "host-sysctls.json"
NEIGH = "net.ipv4.neigh.default.gc_thresh{}"
#: Neighbour entries to allow per router: two per link end on average, doubled for
#: margin (the host's own entries, a link's entries during a flap).
ENTRIES_PER_ROUTER = 4


def _file(name: str) -> Path:
    return PROC_SYS / name.replace(".", "/")


def read(name: str) -> int:
    return int(_file(name).read_text().split()[0])


def write(name: str, value: int) -> None:
    _file(name).write_text(f"{value}\n")


def needed(routers: int) -> dict[str, int]:
    """The neighbour thresholds for a lab of ``routers``: gc_thresh3 the hard cap,
    gc_thresh2 the soft one (half), gc_thresh1 below which nothing is collected."""
    cap = routers * ENTRIES_PER_ROUTER
    return {NEIGH.format(3): cap, NEIGH.format(2): cap // 2, NEIGH.format(1): cap // 8}


def raise_for(routers: int, state_dir: Path) -> dict[str, int]:
    """Raise every limit below what ``routers`` need; returns {sysctl: value found} for
    those changed, recorded in ``state_dir`` (a repeated ``up`` keeps the first record,
    the host's own values)."""
    record = state_dir / RECORD
    found = json.loads(record.read_text()) if record.exists() else {}
    changed = {}
    for name, value in needed(routers).items():
        current = read(name)
        if current < value:
            found.setdefault(name, current)
            changed[name] = current
            write(name, value)
            info(f"lab: {name} raised from {current} to {value} for {routers} routers (restored by 'hatang lab down')")
    if found:
        record.write_text(json.dumps(found, indent=2))
    return changed


def restore(state_dir: Path) -> dict[str, int]:
    """Write back the host's values that ``raise_for`` recorded; returns them."""
    record = state_dir / RECORD
    if not record.exists():
        return {}
    found = json.loads(record.read_text())
    for name, value in found.items():
        write(name, value)
    record.unlink()
    return found
