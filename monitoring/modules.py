"""SNMP modules as data: which OIDs to fetch, how to name and label them.

A module (``monitoring/modules/<name>.yaml``) lists *scalars* (fetched with one GET of
``<oid>.0``) and *tables* (walked with GETBULK, all columns of a table in the same
requests). A table has an ``index`` label (the row's last sub-identifier, as
snmp_exporter's ``indexes``), ``lookups`` (string columns that become labels, as its
``lookups``) and ``columns`` (metrics). Metric names, types and help are
snmp_exporter's, so the code stays generic and the YAML says what to walk.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hatang.errors import HatangError

MODULES_DIR = Path(__file__).parent / "modules"
MetricType = Literal["gauge", "counter", "DisplayString"]


def parse_oid(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.strip(".").split("."))


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metric(_Spec):
    name: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    oid: str
    type: MetricType
    help: str = ""

    @field_validator("oid")
    @classmethod
    def _oid(cls, value: str) -> str:
        parse_oid(value)
        return value

    @property
    def oid_tuple(self) -> tuple[int, ...]:
        return parse_oid(self.oid)


class Lookup(_Spec):
    name: str = Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    oid: str

    @property
    def oid_tuple(self) -> tuple[int, ...]:
        return parse_oid(self.oid)


class Table(_Spec):
    index: str = Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    columns: tuple[Metric, ...]
    lookups: tuple[Lookup, ...] = ()


class Module(_Spec):
    module: str
    description: str = ""
    scalars: tuple[Metric, ...] = ()
    tables: tuple[Table, ...] = ()


def available() -> list[str]:
    return sorted(path.stem for path in MODULES_DIR.glob("*.yaml"))


@cache
def load(name: str) -> Module:
    """The module ``name`` from ``monitoring/modules``; a clear error if unknown or malformed."""
    if name not in available():  # checked before any path is made from the name
        raise HatangError(f"unknown SNMP module '{name}' (known: {', '.join(available())})", exit_code=2)
    path = MODULES_DIR / f"{name}.yaml"
    try:
        module = Module.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError, ValueError) as exc:
        raise HatangError(f"{path}: malformed SNMP module", details=str(exc).splitlines(), exit_code=2) from None
    if module.module != name:
        raise HatangError(f"{path}: key 'module' says '{module.module}', the file name says '{name}'", exit_code=2)
    return module
