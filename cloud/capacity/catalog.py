"""The servers a planner may buy, with their prices (VND): the recommendation's menu.

See ``examples/catalog.yaml``. A spec is an inventory :class:`~hatang.inventory.model.Node`
(cores, threads, RAM, disks by role) plus a price; ``default`` names the spec used where
the planner does not choose one, ``clusters`` a spec per cluster where it differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from hatang.cloud.capacity.inputs import InputModel, PlanInputError, fail, load_yaml_model
from hatang.inventory import model as m
EXAMPLES = Path(__file__).resolve().parent / "examples"
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
    clusters: dict[str, str] = {}
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


@dataclass(frozen=True)
class Catalog:
    path: Path
    data: CatalogFile

    def spec_for(self, cluster: str, override: str | None = None) -> NodeSpec:
        """``override`` if given, else the cluster's own spec, else the default."""
        name = override or self.data.clusters.get(cluster, self.data.default)
        if name not in self.data.specs:
            raise PlanInputError(f"catalogue {self.path}: no spec {name!r} (it has {', '.join(sorted(self.data.specs))})")
        return NodeSpec(name, self.data.specs[name])


def load_catalog(path: Path | None, clusters: Iterable[str]) -> Catalog:
    """Read a catalogue; a default, or a cluster's spec, that is not listed is an error with its line."""
    path = path or DEFAULT_CATALOG
    data, source = load_yaml_model(path, CatalogFile, "catalogue")
    known = set(clusters)
    for key, name in [(("default",), data.default), *((("clusters", c), s) for c, s in data.clusters.items())]:
        if name not in data.specs:
            raise fail(source, key, f"spec {name!r} is not among the specs ({', '.join(sorted(data.specs))})", "catalogue")
    for cluster in data.clusters:
        if cluster not in known:
            raise fail(source, ("clusters", cluster), f"unknown cluster {cluster!r} (known: {', '.join(sorted(known))})", "catalogue")
    return Catalog(path, data)
