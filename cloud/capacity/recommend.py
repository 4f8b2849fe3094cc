"""What to buy and when: replace nodes past their service life, add nodes of the chosen
spec when the policy's rule would break, and price it.

The walk is month by month over the forecast on the cluster as it will be: first the
nodes that reach the end of their life that month are replaced one for one (keeping
the cluster's failure domains, Ceph layout and anti-affinity room), then nodes are
added one at a time while the policy's rule is broken and a node helps. A resource a
node cannot help (NFS storage, a spec with no OSD disks) is reported as unresolved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from hatang.cloud.capacity.catalog import NodeSpec
from hatang.cloud.capacity.months import Month, year_of
from hatang.cloud.capacity.rules import Rules, limits
from hatang.inventory import model as m

MAX_NODES_A_MONTH = 32


@dataclass(frozen=True)
class Action:
    kind: Literal["replace", "add"]
    month: Month
    order_by: Month
    late: bool
    nodes: tuple[str, ...]
    replaces: tuple[str, ...]
    reason: str
    cost_vnd: int

    @property
    def count(self) -> int:
        return len(self.nodes)


@dataclass(frozen=True)
class Shortfall:
    """A resource nodes of the spec cannot cure: the first month it runs out and by how much."""

    resource: str
    month: Month
    need: float
    limit: float


@dataclass(frozen=True)
class Recommendation:
    spec: NodeSpec
    actions: tuple[Action, ...]
    clusters: tuple[m.Cluster, ...]  # the cluster as it will be, month by month
    unresolved: tuple[Shortfall, ...] = field(default=())

    @property
    def cost_vnd(self) -> int:
        return sum(a.cost_vnd for a in self.actions)


def past_life(node: m.Node, month: Month, life_years: int) -> bool:
    return node.purchased is not None and node.purchased + life_years <= year_of(month)


def recommend(cluster: m.Cluster, months: Sequence[Month], needs: Sequence[dict[str, float]], rules: Rules, spec: NodeSpec) -> Recommendation:
    start = months[0]
    nodes = list(cluster.nodes)
    actions: list[Action] = []
    states: list[m.Cluster] = []
    unresolved: dict[str, Shortfall] = {}
    created: list[m.Node] = []

    def next_node(month: Month) -> m.Node:
        return spec.node(f"{cluster.name}-new-{len(created) + 1:02d}", year_of(month))

    def action(kind: Literal["replace", "add"], month: Month, new: list[m.Node], replaces: list[str], reason: str) -> Action:
        order_by = month - rules.lead_time_months
        return Action(kind, month, max(order_by, start), order_by < start, tuple(n.name for n in new), tuple(replaces), reason, len(new) * spec.price_vnd)

    for month, need in zip(months, needs, strict=True):
        retiring = [n for n in nodes if past_life(n, month, rules.service_life_years)]
        if retiring:
            fresh = []
            for _ in retiring:
                fresh.append(next_node(month))
                created.append(fresh[-1])
            nodes = [n for n in nodes if n not in retiring] + fresh
            reason = "past service life: " + ", ".join(f"{n.name} (bought {n.purchased})" for n in retiring)
            actions.append(action("replace", month, fresh, [n.name for n in retiring], reason))
        added: list[m.Node] = []
        short = _short(cluster, nodes, need, rules.policy)
        first_short = sorted(short)
        while short and len(added) < MAX_NODES_A_MONTH:
            candidate = [*nodes, next_node(month)]
            after = limits(_with(cluster, candidate), rules.policy)
            before = limits(_with(cluster, nodes), rules.policy)
            if not any(after[r] > before[r] for r in short):
                break
            nodes, added = candidate, [*added, candidate[-1]]
            created.append(candidate[-1])
            short = _short(cluster, nodes, need, rules.policy)
        have = limits(_with(cluster, nodes), rules.policy)
        for resource in short:
            unresolved.setdefault(resource, Shortfall(resource, month, need[resource], have[resource]))
        if added:
            actions.append(action("add", month, added, [], "runs out under the policy: " + ", ".join(first_short)))
        states.append(_with(cluster, nodes))
    return Recommendation(spec, tuple(actions), tuple(states), tuple(unresolved.values()))


def _with(cluster: m.Cluster, nodes: list[m.Node]) -> m.Cluster:
    return cluster.model_copy(update={"nodes": tuple(nodes)})


def _short(cluster: m.Cluster, nodes: list[m.Node], need: dict[str, float], level: int) -> list[str]:
    have = limits(_with(cluster, nodes), level)
    return [r for r, v in need.items() if v > have[r] + 1e-9]
