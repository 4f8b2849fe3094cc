"""The servers a planner may buy, with their prices (VND): the recommendation's menu.

See ``examples/catalog.yaml``. A spec is an inventory :class:`~hatang.inventory.model.Node`
(cores, threads, RAM, disks by role) plus a price; ``default`` names the spec used when
the planner does not choose one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from hatang.cloud.capacity.inputs import InputModel, PlanInputError, fail, load_yaml_model
from hatang.inventory import model as m
from hatang.paths import REPO_ROOT

EXAMPLES = REPO_ROOT / "cloud" / "capacity" / "examples"
DEFAULT_CATALOG = EXAMPLES / "catalog.yaml"


class Spec(InputModel):
    model: str
    cores: int = Field(gt=0)
    threads_per_core: int = Field(default=2, ge=1, le=2)
    ram_gib: int = Field(gt=0)
    disks: tuple[m.Disk, ...] = ()
    price_vnd: int = Field(gt=0, description="price of one node, installed, in VND")


class CatalogFile(InputModel):
    currency: str = "VND"
    default: str
    specs: dict[str, Spec] = Field(min_length=1)


@dataclass(frozen=True)
class NodeSpec:
    name: str
    spec: Spec

    def node(self, name: str, year: int) -> m.Node:
        s = self.spec
        return m.Node(name=name, cores=s.cores, threads_per_core=s.threads_per_core, ram_gib=s.ram_gib, disks=s.disks, model=s.model, purchased=year)

    @property
    def price_vnd(self) -> int:
        return self.spec.price_vnd


def load_spec(path: Path | None = None, name: str | None = None) -> NodeSpec:
    """The spec ``name`` (or the catalogue's default) from the catalogue at ``path``."""
    path = path or DEFAULT_CATALOG
    catalog, source = load_yaml_model(path, CatalogFile, "catalogue")
    chosen = name or catalog.default
    if chosen not in catalog.specs:
        if name:
            raise PlanInputError(f"catalogue {path}: no spec {name!r} (it has {', '.join(sorted(catalog.specs))})")
        raise fail(source, ("default",), f"default spec {chosen!r} is not among the specs", "catalogue")
    return NodeSpec(chosen, catalog.specs[chosen])
