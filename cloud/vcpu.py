"""The vCPU overcommit rule, one definition for placement and capacity planning.

The unit is vCPU per **physical core** (not per hardware thread): a second thread of a
core adds far less than a core, and the planner counts and buys cores. A guest of ``c``
vCPU in a class limited to ``r`` vCPU per core takes ``c ÷ r`` cores; a node's guests
together take at most its cores (:mod:`hatang.cloud.placement`), a cluster's at most
the cores left after a node loss (:mod:`hatang.cloud.capacity.rules`).
"""

from __future__ import annotations

from collections.abc import Mapping

SERVICE_CLASSES: tuple[str, ...] = ("critical", "standard", "batch")
VCPU_PER_CORE: Mapping[str, float] = {"critical": 2.0, "standard": 4.0, "batch": 8.0}


def cores_needed(vcpu: Mapping[str, float], limits: Mapping[str, float] = VCPU_PER_CORE) -> float:
    """Physical cores the vCPU of each class need under the per-class limits: Σ vCPU_c ÷ limit_c."""
    return sum(v / limits[c] for c, v in vcpu.items())
