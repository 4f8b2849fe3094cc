"""The 2025 reorganisation: which commune-level unit each commune site became.

Since 1 July 2025 the province has two tiers (province, commune); districts are gone
as administrative units and live on only as network regions (their routers and OSPF
areas do not move). ``reorganisation.yaml`` (generated once by
:mod:`hatang.inventory.tools.reorg2025`, then edited by people) says, per commune site,
its 2025 unit — from the official lists, or ``pending`` with the reason and the candidate
units until a person records a decision with its source. Each unit has one headquarters
site; its other sites are service points.

Nothing here renames a site, a device or an address: the 2025 unit is added alongside.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from hatang.inventory.model import Record
from hatang.inventory.yamlsource import KeyPath, Problem, Source

if TYPE_CHECKING:
    from hatang.inventory.inventory import Inventory, Site
    from hatang.inventory.load import Collector

FILE = "reorganisation.yaml"
KEYS = ("province_2025", "units", "communes", "decisions", "headquarters")
Code5 = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
Status = Literal["mapped", "decided", "awaiting-decision"]


class Province2025(Record):
    code: Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
    name: str


class Unit(Record):
    """A commune-level unit of the 2025 list (phường, xã, đặc khu) with its official code."""

    code: Code5
    name: str
    type: Literal["phuong", "xa", "dac-khu"]


class CommuneEntry(Record):
    """What the official lists say a pre-2025 commune became: a unit, or pending with why."""

    commune: Code5
    name: str = ""
    unit: Code5 | None = None
    pending: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    candidates: tuple[Code5, ...] = ()


class Decision(Record):
    """A person's mapping of a pending commune, with the act or letter it rests on."""

    commune: Code5
    unit: Code5
    source: Annotated[str, StringConstraints(min_length=3, max_length=500)]
    decided_by: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    date: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]


@dataclass(frozen=True)
class Assignment:
    """One commune site's place in 2025."""

    commune: str
    status: Status
    unit: Unit | None = None
    reason: str | None = None
    candidates: tuple[str, ...] = ()
    source: str = "vietnam-address-converter"


@dataclass
class Reorganisation:
    province: Province2025 | None
    units: list[tuple[KeyPath, Unit]]
    communes: list[tuple[KeyPath, CommuneEntry]]
    decisions: list[tuple[KeyPath, Decision]]
    headquarters: dict[str, str]
    source: Source

    @cached_property
    def unit_by_code(self) -> dict[str, Unit]:
        return {u.code: u for _, u in self.units}

    @cached_property
    def assignments(self) -> dict[str, Assignment]:
        """Per commune code, its assignment; decisions override pending entries (a clash
        is a validation problem, see :func:`check`)."""
        out: dict[str, Assignment] = {}
        for _, entry in self.communes:
            if entry.unit is not None:
                out[entry.commune] = Assignment(entry.commune, "mapped", self.unit_by_code.get(entry.unit))
            else:
                out[entry.commune] = Assignment(entry.commune, "awaiting-decision", None, entry.pending, entry.candidates, "")
        for _, decision in self.decisions:
            out[decision.commune] = Assignment(decision.commune, "decided", self.unit_by_code.get(decision.unit), source=decision.source)
        return out


    def status_counts(self) -> dict[str, int]:
        """How many commune sites are mapped, decided, awaiting a decision."""
        counts: dict[str, int] = defaultdict(int)
        for a in self.assignments.values():
            counts[a.status] += 1
        return dict(sorted(counts.items()))


def read(source: Source, collector: Collector) -> Reorganisation:
    data = source.data or {}
    for key in data:
        if key not in KEYS:
            collector.add(source.problem((key,), f"unknown key (this file holds: {', '.join(KEYS)})"))
    headquarters = data.get("headquarters") or {}
    if not isinstance(headquarters, dict):
        collector.add(source.problem(("headquarters",), "must be a mapping of unit code to site"))
        headquarters = {}
    return Reorganisation(
        province=collector.record(source, ("province_2025",), data.get("province_2025"), Province2025) if "province_2025" in data else None,
        units=collector.records(source, "units", Unit),
        communes=collector.records(source, "communes", CommuneEntry),
        decisions=collector.records(source, "decisions", Decision) if "decisions" in data else [],  # none until a person decides
        headquarters={str(k): str(v) for k, v in headquarters.items()},
        source=source,
    )


def check(inv: Inventory) -> Iterator[Problem]:
    """Every commune site mapped exactly once (or explicitly pending), every unit named
    known, every headquarters a site of its own unit."""
    reorg = inv.reorganisation
    if reorg is None:
        return
    src = reorg.source
    units = reorg.unit_by_code
    sites_of: dict[str, list[KeyPath]] = defaultdict(list)
    for path, entry in reorg.communes:
        sites_of[entry.commune].append(path)
        if entry.commune not in inv.commune_by_code:
            yield src.problem((*path, "commune"), f"unknown commune code {entry.commune!r} (not in province.yaml)")
        if (entry.unit is None) == (entry.pending is None):
            yield src.problem(path, f"commune {entry.commune} needs exactly one of 'unit' or 'pending' (with the reason)")
        for code in (entry.unit, *entry.candidates):
            if code is not None and code not in units:
                yield src.problem(path, f"unknown 2025 unit {code!r} (not in 'units')")
    for code, paths in sites_of.items():
        if len(paths) > 1:
            yield src.problem((*paths[1], "commune"), f"commune {code} is mapped twice (first at {'.'.join(map(str, paths[0]))})")
    decided: dict[str, KeyPath] = {}
    mapped = {e.commune: e.unit for _, e in reorg.communes if e.unit is not None}
    for path, decision in reorg.decisions:
        if decision.commune in decided:
            yield src.problem((*path, "commune"), f"commune {decision.commune} is decided twice (first at {'.'.join(map(str, decided[decision.commune]))})")
        decided[decision.commune] = path
        if decision.commune in mapped:
            yield src.problem((*path, "commune"), f"commune {decision.commune} is mapped twice: the official lists already give unit {mapped[decision.commune]}")
        if decision.commune not in inv.commune_by_code:
            yield src.problem((*path, "commune"), f"unknown commune code {decision.commune!r} (not in province.yaml)")
        if decision.unit not in units:
            yield src.problem((*path, "unit"), f"unknown 2025 unit {decision.unit!r} (not in 'units')")
    for code, commune in inv.commune_by_code.items():
        if code not in sites_of and code not in decided:
            yield src.problem(("communes",), f"commune site {commune.slug} (GSO {code}) is unmapped: add it to 'communes' as a unit or pending")
    assignments = reorg.assignments
    for unit_code, slug in reorg.headquarters.items():
        site = inv.sites.get(slug)
        if unit_code not in units:
            yield src.problem(("headquarters", unit_code), f"unknown 2025 unit {unit_code!r}")
        elif site is None or site.kind != "commune":
            yield src.problem(("headquarters", unit_code), f"unknown commune site {slug!r}")
        elif (a := assignments.get(site.code or "")) is None or a.unit is None or a.unit.code != unit_code:
            yield src.problem(("headquarters", unit_code), f"site {slug!r} is not in unit {unit_code}")


def assignment(inv: Inventory, site: Site) -> Assignment | None:
    """The commune site's 2025 assignment; None for other sites or without the file."""
    if inv.reorganisation is None or site.kind != "commune":
        return None
    return inv.reorganisation.assignments.get(site.code or "")


def role(inv: Inventory, site: Site) -> Literal["headquarters", "service-point"] | None:
    a = assignment(inv, site)
    if a is None or a.unit is None:
        return None
    return "headquarters" if inv.reorganisation.headquarters.get(a.unit.code) == site.key else "service-point"


def display_name(inv: Inventory, site: Site) -> str:
    """The name users read: the 2025 unit first, the old name second; a district is now
    only a network region."""
    if inv.reorganisation is not None and site.kind == "district":
        return f"{site.name} region"
    a = assignment(inv, site)
    if a is None:
        return site.name
    if a.unit is None:
        return f"{site.name} (2025 unit pending)"
    return f"{a.unit.name}, {site.name} cũ"
