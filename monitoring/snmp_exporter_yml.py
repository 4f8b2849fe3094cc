"""snmp.yml for Debian's prometheus-snmp-exporter (0.21), from hatang's own modules.

Same OIDs, names, lookups and credentials as hatang's exporter, so either can serve
the same Prometheus configuration (and the benchmark compares like with like). The
file holds the SNMP secrets, so it is written mode 0600 and never into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from hatang.monitoring import modules as mods
from hatang.monitoring.snmp import SnmpAuth
from hatang.monitoring.targets import auth_for


def auth_block(auth: SnmpAuth) -> dict[str, Any]:
    if auth.version == "v2c":
        return {"community": auth.community}
    return {
        "username": auth.username,
        "security_level": "authPriv",
        "password": auth.auth_key,
        "auth_protocol": auth.auth_protocol,
        "priv_protocol": auth.priv_protocol,
        "priv_password": auth.priv_key,
    }


def module_block(module: mods.Module, auth: SnmpAuth, *, timeout: float, retries: int, max_repetitions: int) -> dict[str, Any]:
    metrics: list[dict[str, Any]] = [
        {"name": m.name, "oid": m.oid, "type": m.type, "help": m.help} for m in module.scalars
    ]
    walk: list[str] = []
    for table in module.tables:
        lookups = [{"labels": [table.index], "labelname": lk.name, "oid": lk.oid, "type": "DisplayString"} for lk in table.lookups]
        walk += [lk.oid for lk in table.lookups] + [c.oid for c in table.columns]
        metrics += [
            {"name": c.name, "oid": c.oid, "type": c.type, "help": c.help, "indexes": [{"labelname": table.index, "type": "gauge"}], "lookups": lookups}
            for c in table.columns
        ]
    return {
        "walk": walk,
        "get": [f"{m.oid}.0" for m in module.scalars],
        "metrics": metrics,
        "version": 2 if auth.version == "v2c" else 3,
        "max_repetitions": max_repetitions,
        "retries": retries,
        "timeout": f"{timeout:g}s",
        "auth": auth_block(auth),
    }


def snmp_yml(auth: SnmpAuth, names: list[str], *, timeout: float = 2.0, retries: int = 1, max_repetitions: int = 25) -> str:
    doc = {name: module_block(mods.load(name), auth, timeout=timeout, retries=retries, max_repetitions=max_repetitions) for name in names}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def write_snmp_yml(path: Path, env: str, names: list[str], *, version: str = "v3", **options: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(snmp_yml(auth_for(env, version), names, **options))
    return path
