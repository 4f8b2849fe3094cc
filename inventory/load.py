"""Load the inventory directory into typed records, collecting every problem at once.

:func:`load` returns an :class:`~hatang.inventory.inventory.Inventory` for one
environment, or raises :class:`InventoryError` listing each problem with its file, key
path and line. Semantic checks (uniqueness, references, addressing, fit) are in
:mod:`hatang.inventory.checks`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hatang.errors import InventoryError
from hatang.inventory import model as m
from hatang.inventory import reorganisation as reorg
from hatang.inventory.addressing import AddressPlan, plan_from_dict
from hatang.inventory.yamlsource import KeyPath, Problem, Source, read
from hatang.paths import DEFAULT_INVENTORY

T = TypeVar("T", bound=BaseModel)
CREDENTIAL_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")

#: The files of an inventory directory and the top-level keys each may hold.
FILES: dict[str, tuple[str, ...]] = {
    "province.yaml": ("province", "areas", "districts", "communes"),
    "agencies.yaml": ("agencies",),
    "network.yaml": ("devices", "links"),
    "datacenter.yaml": ("datacenter", "vlans", "clusters"),
    "services.yaml": ("services", "backup_policies"),
    "credentials.yaml": ("credentials",),
}


class Collector:
    """Gathers problems from every file so the user sees them all in one run."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def record(self, source: Source, path: KeyPath, data: Any, cls: type[T]) -> T | None:
        """Validate one record; pydantic's errors become Problems at their exact key."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                where = (*path, *(p for p in error["loc"] if isinstance(p, (str, int))))
                message = error["msg"]
                if error["type"] == "extra_forbidden":
                    message = "unknown key"
                self.add(source.problem(where, message))
            return None

    def records(self, source: Source, key: str, cls: type[T]) -> list[tuple[KeyPath, T]]:
        """The records of section ``key``: a missing, empty or null section is a problem
        (an empty ``network.yaml`` must not read as "no devices")."""
        data = source.data or {}
        if key not in data:
            self.add(source.problem((key,), "missing (the section is required)"))
            return []
        items = data[key]
        if items is None or items == []:
            self.add(source.problem((key,), "is empty (a section needs at least one entry)"))
            return []
        if not isinstance(items, list):
            self.add(source.problem((key,), "must be a list"))
            return []
        out: list[tuple[KeyPath, T]] = []
        for i, item in enumerate(items):
            record = self.record(source, (key, i), item, cls)
            if record is not None:
                out.append(((key, i), record))
        return out


def _display(directory: Path, path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_sources(directory: Path, collector: Collector) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    for name, keys in FILES.items():
        path = directory / name
        if not path.exists():
            collector.add(Problem(_display(directory, path), (), "missing file"))
            continue
        parsed = read(path, _display(directory, path))
        if isinstance(parsed, Problem):
            collector.add(parsed)
            continue
        if parsed.data is None:
            parsed.data = {}
        if not isinstance(parsed.data, dict):
            collector.add(parsed.problem((), "must be a mapping"))
            continue
        for key in parsed.data:
            if key not in keys:
                collector.add(parsed.problem((key,), f"unknown key (this file holds: {', '.join(keys)})"))
        sources[name] = parsed
    return sources


def plan_path(directory: Path, env: str) -> Path:
    return directory / "addressing" / f"{env}.yaml"


def read_plan(directory: Path, env: str, collector: Collector) -> tuple[AddressPlan | None, Source | None]:
    path = plan_path(directory, env)
    if not path.exists():
        collector.add(Problem(_display(directory, path), (), f"missing address plan for environment '{env}'"))
        return None, None
    parsed = read(path, _display(directory, path))
    if isinstance(parsed, Problem):
        collector.add(parsed)
        return None, None
    try:
        return plan_from_dict(parsed.data, path), parsed
    except InventoryError as exc:
        for detail in exc.details:
            key, _, message = detail.partition(": ")
            parts = tuple(key.split(".")) if key else ()
            collector.add(parsed.problem(parts, message))
        return None, parsed


def _credentials(source: Source | None, collector: Collector) -> dict[str, m.CredentialRef]:
    """The credential references by name; a name is a slug (it becomes an environment
    variable's name and a vault key)."""
    refs = (source.data.get("credentials") if source else None) or {}
    if not isinstance(refs, dict):
        collector.add(source.problem(("credentials",), "must be a mapping of credential names"))
        return {}
    credentials: dict[str, m.CredentialRef] = {}
    for name, value in refs.items():
        if not isinstance(name, str) or not CREDENTIAL_NAME.fullmatch(name):
            collector.add(source.problem(("credentials", str(name)), f"credential name {str(name)!r}: a credential name must be lower-case letters, digits and -"))
            continue
        ref = collector.record(source, ("credentials", name), value, m.CredentialRef)
        if ref is not None:
            credentials[name] = ref
    return credentials


def load(directory: Path | str | None = None, env: str = "lab", *, check: bool = True):
    """Load and validate the inventory of ``directory`` for environment ``env``."""
    from hatang.inventory.checks import check_inventory
    from hatang.inventory.inventory import Inventory

    if env not in m.ENVIRONMENTS:
        raise InventoryError(f"unknown environment '{env}' (known: {', '.join(m.ENVIRONMENTS)})")
    directory = Path(directory) if directory else DEFAULT_INVENTORY
    if not directory.is_dir():
        raise InventoryError(f"inventory directory {directory} does not exist")
    collector = Collector()
    sources = read_sources(directory, collector)
    plan, plan_source = read_plan(directory, env, collector)

    def recs(file: str, key: str, cls: type[T]) -> list[tuple[KeyPath, T]]:
        return collector.records(sources[file], key, cls) if file in sources else []

    def optional(file: str, key: str, cls: type[T]) -> list[tuple[KeyPath, T]]:
        """A section only some inventories have (``areas``: the merged province's)."""
        source = sources.get(file)
        return collector.records(source, key, cls) if source is not None and key in source.data else []

    def one(file: str, key: str, cls: type[T]) -> T | None:
        source = sources.get(file)
        if source is None:
            return None
        if key not in source.data:
            collector.add(source.problem((key,), "missing (the section is required)"))
            return None
        return collector.record(source, (key,), source.data[key], cls)

    credentials = _credentials(sources.get("credentials.yaml"), collector)

    reorganisation = None
    reorg_path = directory / reorg.FILE
    if reorg_path.exists():  # optional: an inventory before the 2025 reorganisation has none
        parsed = read(reorg_path, _display(directory, reorg_path))
        if isinstance(parsed, Problem):
            collector.add(parsed)
        else:
            reorganisation = reorg.read(parsed, collector)

    inventory = Inventory(
        directory=directory,
        env=env,
        province=one("province.yaml", "province", m.Province),
        areas=optional("province.yaml", "areas", m.Area),
        districts=recs("province.yaml", "districts", m.District),
        communes=recs("province.yaml", "communes", m.Commune),
        agencies=recs("agencies.yaml", "agencies", m.Agency),
        devices=recs("network.yaml", "devices", m.Device),
        links=recs("network.yaml", "links", m.Link),
        datacenter=one("datacenter.yaml", "datacenter", m.Datacenter),
        vlans=recs("datacenter.yaml", "vlans", m.Vlan),
        clusters=recs("datacenter.yaml", "clusters", m.Cluster),
        services=recs("services.yaml", "services", m.Service),
        backup_policies=recs("services.yaml", "backup_policies", m.BackupPolicy),
        credentials=credentials,
        plan=plan,
        sources=sources,
        plan_source=plan_source,
        reorganisation=reorganisation,
    )
    if check and not collector.problems:
        collector.problems.extend(check_inventory(inventory))
    if collector.problems:
        raise InventoryError(
            f"the inventory in {directory} has {len(collector.problems)} problem(s) (environment '{env}')",
            details=[str(p) for p in collector.problems],
        ).with_problems(collector.problems)
    return inventory
