"""Prometheus' configuration and rules: valid for promtool, one test per alert, the
exact alert names the runbooks are written for, a runbook link and labels on each."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from hatang.inventory import load
from hatang.monitoring import promconfig
from hatang.monitoring.intent_metrics import inventory_metrics
from hatang.monitoring.promtool import check_config, promtool, test_rules as run_rule_tests

RULE_TESTS = sorted((promconfig.RULES_DIR / "tests").glob("*.yml"))


def kebab(alert: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", alert.removeprefix("Hatang")).lower()


def alerts(rules_text: str) -> list[dict]:
    return [r for g in yaml.safe_load(rules_text)["groups"] for r in g["rules"] if "alert" in r]


@pytest.fixture(scope="module")
def inv():
    return load(None, "lab")


def test_promtool_unit_tests_pass() -> None:
    assert RULE_TESTS
    assert "SUCCESS" in run_rule_tests(*RULE_TESTS)


def test_exactly_the_agreed_alerts_each_tested() -> None:
    names = [a["alert"] for a in alerts(promconfig.RULES_FILE.read_text())]
    assert sorted(names) == sorted(promconfig.ALERT_NAMES)
    tested = {t["alertname"] for f in RULE_TESTS for case in yaml.safe_load(f.read_text())["tests"] for t in case.get("alert_rule_test", []) if t.get("exp_alerts")}
    assert tested == set(names)  # every alert has a test where it fires


def test_runbook_links_follow_the_base(tmp_path: Path, inv) -> None:
    base = "https://git.example.test/iic/hatang/raw/main"
    promconfig.write_config(inv, tmp_path, promconfig.ConfigOptions(runbook_base=base + "/"))
    for rule in alerts((tmp_path / "rules" / "hatang.rules.yml").read_text()):
        assert rule["annotations"]["runbook_url"] == f"{base}/runbooks/{kebab(rule['alert'])}.md"
        assert rule["labels"]["severity"] in ("critical", "warning")
    assert kebab("HatangDeviceDown") == "device-down"


def test_written_config_passes_promtool_and_relabels_like_snmp_exporter(tmp_path: Path, inv) -> None:
    written = promconfig.write_config(inv, tmp_path, promconfig.ConfigOptions(exporter="127.0.0.1:9116"))
    assert {p.relative_to(tmp_path).as_posix() for p in written} == {
        "prometheus.yml", "rules/hatang.rules.yml", "rules/topology.rules.yml", "targets/targets.json", "probes/loopbacks.json", "blackbox.yml"}
    assert check_config(tmp_path / "prometheus.yml") == "SUCCESS"
    config = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    snmp = next(j for j in config["scrape_configs"] if j["job_name"] == "snmp")
    assert snmp["metrics_path"] == "/snmp" and snmp["params"] == {"module": ["if_mib"]}
    assert snmp["relabel_configs"] == [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"source_labels": ["__param_target"], "target_label": "instance"},
        {"target_label": "__address__", "replacement": "127.0.0.1:9116"},
    ]
    exporter = next(j for j in config["scrape_configs"] if j["job_name"] == "hatang-exporter")
    assert set(exporter["static_configs"][0]["labels"]) >= {"device", "site", "district", "role"}
    backups = next(j for j in config["scrape_configs"] if j["job_name"] == promconfig.BACKUP_JOB)  # HatangBackupStale's series
    assert backups["static_configs"] == [{"targets": ["127.0.0.1:9100"]}]
    promconfig.write_config(inv, tmp_path, promconfig.ConfigOptions(backup_metrics=None))
    jobs = [j["job_name"] for j in yaml.safe_load((tmp_path / "prometheus.yml").read_text())["scrape_configs"]]
    assert promconfig.BACKUP_JOB not in jobs and "hatang-exporter" in jobs


def test_targets_carry_inventory_labels(tmp_path: Path, inv) -> None:
    small = {d.name for d in inv.lab_devices("small")}
    promconfig.write_config(inv, tmp_path, promconfig.ConfigOptions(), small)
    targets = json.loads((tmp_path / "targets" / "targets.json").read_text())
    assert {t["labels"]["device"] for t in targets} == small
    for entry in targets:
        device = entry["labels"]["device"]
        assert entry["targets"] == [str(inv.mgmt(device).ip)]
        assert entry["labels"]["site"] == inv.device(device).site
        assert {"district", "area", "role", "gso_code"} <= set(entry["labels"])
    commune = next(t for t in targets if t["labels"]["role"] == "commune_cpe")
    assert commune["labels"]["gso_code"] == inv.sites[commune["labels"]["site"]].code


def test_inventory_metrics_name_every_wan_port(inv) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    families = {f.name: f for f in text_string_to_metric_families(inventory_metrics(inv).decode())}
    ports = {(s.labels["device"], s.labels["ifName"], s.labels["kind"]) for s in families["hatang_wan_port_info"].samples}
    links = inv.links_in_env
    assert len(ports) == 2 * len(links)
    uplink = inv.uplink("cpe-tich-son")
    assert ("cpe-tich-son", uplink.name, "uplink") in ports
    bandwidth = {(s.labels["device"], s.labels["ifName"]): s.value for s in families["hatang_wan_port_bandwidth_bits"].samples}
    assert bandwidth[("cpe-tich-son", uplink.name)] == uplink.bandwidth_mbps * 1e6


def test_promtool_failure_is_reported(tmp_path: Path) -> None:
    from hatang.errors import HatangError

    (tmp_path / "prometheus.yml").write_text("scrape_configs: [{job_name: x, scrape_interval: nonsense}]\n")
    with pytest.raises(HatangError, match="promtool check config .* failed"):
        promtool("check", "config", str(tmp_path / "prometheus.yml"))


def test_snmp_exporter_config_uses_the_same_oids() -> None:
    from hatang.monitoring import modules as mods
    from hatang.monitoring.snmp import SnmpAuth
    from hatang.monitoring.snmp_exporter_yml import snmp_yml

    doc = yaml.safe_load(snmp_yml(SnmpAuth("v3", username="u", auth_key="a" * 10, priv_key="p" * 10), ["if_mib"]))
    module = mods.load("if_mib")
    assert {m["oid"] for m in doc["if_mib"]["metrics"]} == {m.oid for m in module.scalars} | {c.oid for t in module.tables for c in t.columns}
    assert doc["if_mib"]["auth"]["security_level"] == "authPriv" and doc["if_mib"]["version"] == 3


def test_a_district_site_means_all_its_routers(inv) -> None:
    from hatang.monitoring.targets import routers_at

    district = {d.name for d in routers_at(inv, "vinh-yen")}
    assert "dr-vinh-yen" in district and "cpe-tich-son" in district and "core-iic" not in district
    assert all(inv.sites[inv.device(n).site].district == "243" for n in district)
    assert [d.name for d in routers_at(inv, "tich-son")] == ["cpe-tich-son"]
    assert [d.name for d in routers_at(inv, "08707")] == ["cpe-tich-son"]
