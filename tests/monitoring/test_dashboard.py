"""The Grafana dashboard: importable JSON, valid PromQL, and only metrics that exist —
the exporter's modules, the rules' recordings, the inventory's intent, Prometheus' own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from hatang.monitoring import modules as mods
from hatang.monitoring.promconfig import RULES_FILE
from hatang.monitoring.promtool import promtool

DASHBOARDS = sorted((Path(RULES_FILE).parent.parent / "dashboards").glob("*.json"))
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"}


def produced_metrics() -> set[str]:
    names = {"up", "ALERTS", "ALERTS_FOR_STATE", "hatang_wan_port_info", "hatang_wan_port_bandwidth_bits"}
    names |= {"snmp_scrape_duration_seconds", "snmp_scrape_walk_duration_seconds", "snmp_scrape_pdus_returned", "snmp_scrape_packets_sent"}
    for name in mods.available():
        module = mods.load(name)
        names |= {m.name for m in module.scalars} | {c.name for t in module.tables for c in t.columns}
    rules = yaml.safe_load(RULES_FILE.read_text())
    names |= {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    return names


def expressions(dashboard: dict) -> list[str]:
    found = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    found += [v["query"]["query"].removeprefix("label_values(").rsplit(",", 1)[0] for v in dashboard["templating"]["list"]]
    found += [a["expr"] for a in dashboard["annotations"]["list"]]
    return [e.replace("$district", ".*") for e in found]


def metric_names(expr: str) -> set[str]:
    """Identifiers of a PromQL expression that name series (not functions, labels, keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # label lists
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end():].lstrip()
        if not following.startswith("(") and match.group() not in KEYWORDS:
            names.add(match.group())
    return names


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_importable_and_names_only_real_metrics(path: Path, tmp_path: Path) -> None:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["title"] and dashboard["__inputs"][0]["pluginId"] == "prometheus"
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    for subject in ("province overview", "per network region (former district)", "wan utilisation", "interface errors"):
        assert subject in titles
    exprs = expressions(dashboard)
    known = produced_metrics()
    for expr in exprs:
        unknown = metric_names(expr) - known
        assert not unknown, f"{path.name}: {expr!r} names {unknown}, which nothing produces"
    # Prometheus' own parser on every expression: each as a recording rule, checked by promtool
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:expr{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    (tmp_path / "exprs.yml").write_text(yaml.safe_dump(rules))
    promtool("check", "rules", str(tmp_path / "exprs.yml"))


def test_metric_name_extraction_catches_a_typo() -> None:
    assert metric_names('rate(ifHCInOctetz{job="snmp"}[5m]) * on(device) group_left(link) x_info') == {"ifHCInOctetz", "x_info"}
