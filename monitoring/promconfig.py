"""Prometheus configuration from the inventory: prometheus.yml, file_sd targets, rules.

The scrape configuration is the one snmp_exporter's users know: targets are device
addresses, relabelled into the ``target`` URL parameter and the ``instance`` label, and
the scrape goes to the exporter's address. The targets file is the inventory's own
``prometheus-sd`` export (labels device, site, district, role, gso_code), so the same
labels reach every series and every alert.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hatang.inventory.export import export
from hatang.monitoring.areas import CORE_AREA, area_of
from hatang.monitoring.exporter import DEFAULT_LISTEN
from hatang.monitoring.probes import BLACKBOX_JOB, PROBE_MODULE, blackbox_yml, probe_targets_json, topology_rules

RULES_DIR = Path(__file__).parent / "rules"
RULES_FILE = RULES_DIR / "hatang.rules.yml"
#: The scrape job of the backup freshness series (node_exporter's textfile collector).
BACKUP_JOB = "hatang-backups"
# The runbooks live in the hatang repository on the IIC's git server; this placeholder
# is the base the rules ship with. Set the real one with --runbook-base.
DEFAULT_RUNBOOK_BASE = "https://git.iic.vinhphuc.gov.vn/hatang/hatang/-/blob/main"
ALERT_NAMES = (
    "HatangDeviceDown",
    "HatangWanLinkDown",
    "HatangDeviceRebooted",
    "HatangInterfaceErrors",
    "HatangLinkSaturation",
    "HatangAvailabilityBurnRateFast",
    "HatangAvailabilityBurnRateSlow",
    "HatangExporterDown",
    "HatangBackupStale",
    "HatangBackupFreshnessStale",
    "HatangSiteUnreachable",
)


@dataclass(frozen=True)
class ConfigOptions:
    exporter: str = DEFAULT_LISTEN
    runbook_base: str = DEFAULT_RUNBOOK_BASE
    scrape_interval: str = "30s"
    scrape_timeout: str = "10s"
    module: str = "if_mib"
    #: blackbox_exporter's address; the ICMP probes and the rules run this often (5 s or less
    #: misses no outage of 5 s or more)
    blackbox: str = "127.0.0.1:9115"
    probe_interval: str = "5s"
    probe_timeout_s: float = 2.0
    alertmanager: str | None = "127.0.0.1:9093"
    #: node_exporter whose textfile collector reads ``hatang cloud backups --textfile``
    #: (cloud/backup_metrics.py): the series of HatangBackupStale and the SLA's RPO
    backup_metrics: str | None = "127.0.0.1:9100"


def rules_text(runbook_base: str) -> str:
    """The shipped rules with their runbook links pointing at ``runbook_base``."""
    return RULES_FILE.read_text(encoding="utf-8").replace(DEFAULT_RUNBOOK_BASE, runbook_base.rstrip("/"))


def exporter_labels(inv: Any) -> dict[str, str]:
    """The exporter's own target labels, so HatangExporterDown carries device/site/district/role too."""
    site = inv.datacenter.site if inv.datacenter else "monitoring"
    district = inv.district_by_code.get(inv.datacenter.district) if inv.datacenter else None
    return {"device": "hatang-exporter", "site": site, "district": district.slug if district else "", "role": "monitoring", "area": CORE_AREA}


def prometheus_yml(inv: Any, options: ConfigOptions) -> dict[str, Any]:
    exporter_static = [{"targets": [options.exporter], "labels": exporter_labels(inv)}]
    return {
        "global": {
            "scrape_interval": options.scrape_interval,
            "scrape_timeout": options.scrape_timeout,
            "evaluation_interval": options.probe_interval,
            "external_labels": {"province": inv.province.slug if inv.province else "", "environment": inv.env},
        },
        "rule_files": ["rules/*.yml"],
        **({"alerting": {"alertmanagers": [{"static_configs": [{"targets": [options.alertmanager]}]}]}} if options.alertmanager else {}),
        "scrape_configs": [
            {
                "job_name": "snmp",
                "metrics_path": "/snmp",
                "params": {"module": [options.module]},
                "file_sd_configs": [{"files": ["targets/*.json"]}],
                "relabel_configs": [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"source_labels": ["__param_target"], "target_label": "instance"},
                    {"target_label": "__address__", "replacement": options.exporter},
                ],
            },
            {
                "job_name": BLACKBOX_JOB,
                "scrape_interval": options.probe_interval,
                "scrape_timeout": f"{options.probe_timeout_s + 1:g}s",
                "metrics_path": "/probe",
                "params": {"module": [PROBE_MODULE]},
                "file_sd_configs": [{"files": ["probes/*.json"]}],
                "relabel_configs": [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"source_labels": ["__param_target"], "target_label": "instance"},
                    {"target_label": "__address__", "replacement": options.blackbox},
                ],
            },
            {"job_name": "hatang-exporter", "static_configs": exporter_static},
            *([{"job_name": BACKUP_JOB, "static_configs": [{"targets": [options.backup_metrics]}]}] if options.backup_metrics else []),
            {
                "job_name": "hatang-inventory",
                "metrics_path": "/inventory",
                "honor_labels": True,
                "static_configs": [{"targets": [options.exporter]}],
            },
        ],
    }


def targets_json(inv: Any, devices: set[str] | None) -> dict[str, str]:
    """The inventory's file_sd export, limited to ``devices`` (a lab runs only its size's routers)."""
    files = {}
    for name, text in export(inv, "prometheus-sd").items():
        entries = [e for e in json.loads(text) if devices is None or e["labels"]["device"] in devices]
        for entry in entries:
            entry["labels"]["area"] = area_of(inv, entry["labels"]["device"])
        files[f"targets/{Path(name).stem}.json"] = json.dumps(entries, indent=2, ensure_ascii=False) + "\n"
    return files


def write_config(inv: Any, out_dir: Path, options: ConfigOptions, devices: set[str] | None = None) -> list[Path]:
    """Write prometheus.yml, targets/, probes/, rules/ and blackbox.yml under ``out_dir``;
    returns the files written."""
    files: dict[str, str] = {
        "prometheus.yml": yaml.safe_dump(prometheus_yml(inv, options), sort_keys=False, allow_unicode=True),
        "rules/hatang.rules.yml": rules_text(options.runbook_base),
        "rules/topology.rules.yml": yaml.safe_dump(topology_rules(inv, devices), sort_keys=False, allow_unicode=True),
        "probes/loopbacks.json": probe_targets_json(inv, devices),
        "blackbox.yml": yaml.safe_dump(blackbox_yml(options.probe_timeout_s), sort_keys=False),
        **targets_json(inv, devices),
    }
    return write_files(out_dir, files)


def write_files(out_dir: Path, files: dict[str, str]) -> list[Path]:
    """Write ``{relative path: text}`` under ``out_dir``; returns the files written."""
    written = []
    for relative, text in files.items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # Prometheus may be reading these: replace, never truncate
        written.append(path)
    return written
