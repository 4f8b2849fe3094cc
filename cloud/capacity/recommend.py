"""What to buy and when: replace nodes past their service life, add nodes of the chosen
spec when the policy's rule would break, and price it.

The walk is month by month over the forecast, on the cluster as it will be. Nodes that
reach the end of their life that month leave. When the cluster is then below its
minimum size (the policy + 1, each Ceph pool's copies + policy, the largest anti-affinity group)
or the policy's rule breaks that month, nodes of the spec are bought, one at a time,
until the rule holds over the buy-ahead window (a year by default: one purchase a
year, not one a month). New nodes
bought in a month when old ones leave are their replacements (often fewer: newer
servers are bigger); the rest are additions; a node leaving that needs no successor is
retired. A resource nodes cannot help (NFS storage, a spec without OSD disks) is
reported as unresolved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from hatang.cloud.capacity.catalog import NodeSpec
from hatang.cloud.capacity.forecast import EPSILON
from hatang.cloud.capacity.months import Month, year_of
from hatang.cloud.capacity.rules import LEVELS, Rules, limits
from hatang.inventory import model as m

MAX_NODES_A_MONTH = 32
Kind = Literal["replace", "retire", "add"]


@dataclass(frozen=True)
class Action:
    kind: Kind
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


def recommend(
    cluster: m.Cluster, months: Sequence[Month], needs: Sequence[dict[str, float]], rules: Rules, spec: NodeSpec, min_nodes: int = 0
) -> Recommendation:
    """Walk the months: retire nodes past their life, buy what keeps the policy for the
    next ``rules.buy_ahead_months`` (and the cluster at ``min_nodes`` or more)."""
    start, policy = months[0], rules.policy
    floor = max(min_nodes, policy + 1)
    nodes = list(cluster.nodes)
    actions: list[Action] = []
    states: list[m.Cluster] = []
    unresolved: dict[str, Shortfall] = {}
    created: list[m.Node] = []

    def action(kind: Kind, month: Month, new: list[m.Node], replaces: list[str], reason: str) -> Action:
        order_by = month - rules.lead_time_months
        return Action(kind, month, max(order_by, start), order_by < start and bool(new), tuple(n.name for n in new), tuple(replaces), reason, len(new) * spec.price_vnd)

    for i, month in enumerate(months):
        retiring = [n for n in nodes if past_life(n, month, rules.service_life_years)]
        nodes = [n for n in nodes if n not in retiring]
        fresh: list[m.Node] = []
        reasons = sorted(_short(cluster, nodes, needs[i : i + 1], policy))
        window = needs[i : i + rules.buy_ahead_months] if reasons or len(nodes) < floor else []
        short = _short(cluster, nodes, window, policy)
        while (len(nodes) < floor or short) and len(fresh) < MAX_NODES_A_MONTH:
            candidate = [*nodes, spec.node(f"{cluster.name}-new-{len(created) + 1:02d}", year_of(month))]
            if len(nodes) >= floor and not _helps(cluster, nodes, candidate, short, policy):
                break
            nodes = candidate
            fresh.append(candidate[-1])
            created.append(candidate[-1])
            short = _short(cluster, nodes, window, policy)
        replacing, extra = fresh[: len(retiring)], fresh[len(retiring) :]
        if retiring:
            reason = "past service life: " + ", ".join(f"{n.name} (bought {n.purchased})" for n in retiring)
            actions.append(action("replace" if replacing else "retire", month, replacing, [n.name for n in retiring], reason))
        if extra:
            why = [f"{LEVELS[policy]} breaks: {', '.join(reasons)} (bought to last {rules.buy_ahead_months} months)"] if reasons else []
            actions.append(action("add", month, extra, [], "; ".join(why or [f"the cluster needs at least {floor} nodes"])))
        have = limits(_with(cluster, nodes), policy)
        for resource, value in needs[i].items():
            if value > have[resource] + EPSILON:
                unresolved.setdefault(resource, Shortfall(resource, month, value, have[resource]))
        states.append(_with(cluster, nodes))
    return Recommendation(spec, tuple(actions), tuple(states), tuple(unresolved.values()))


def _with(cluster: m.Cluster, nodes: list[m.Node]) -> m.Cluster:
    return cluster.model_copy(update={"nodes": tuple(nodes)})


def _short(cluster: m.Cluster, nodes: list[m.Node], window: Sequence[dict[str, float]], level: int) -> set[str]:
    """The resources some month of ``window`` needs more of than ``nodes`` give under ``level``."""
    have = limits(_with(cluster, nodes), level)
    return {r for need in window for r, v in need.items() if v > have[r] + EPSILON}


def _helps(cluster: m.Cluster, nodes: list[m.Node], candidate: list[m.Node], short: set[str], level: int) -> bool:
    before, after = limits(_with(cluster, nodes), level), limits(_with(cluster, candidate), level)
    return any(after[r] > before[r] for r in short)
