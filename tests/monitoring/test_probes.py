"""Reachability probes and the topology the alerts join against, from the inventory:
every router's loopback probed every 5 s, areas and the sites behind each router."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from hatang.inventory import load
from hatang.inventory.reorganisation import display_name
from hatang.monitoring import promconfig
from hatang.monitoring.areas import BEHIND_SEPARATOR, BEHIND_SHOWN, behind_names, placements
from hatang.monitoring.probes import PROBE_MODULE


@pytest.fixture(scope="module")
def inv():
    return load(None, "lab")


def test_every_router_loopback_is_probed_often_enough(tmp_path: Path, inv) -> None:
    promconfig.write_config(inv, tmp_path, promconfig.ConfigOptions(blackbox="198.19.0.2:9115"))
    targets = json.loads((tmp_path / "probes" / "loopbacks.json").read_text())
    assert {t["labels"]["device"]: t["targets"] for t in targets} == {d.name: [str(inv.loopback(d.name))] for d in inv.routers()}
    assert all(t["targets"][0].startswith("198.18.") for t in targets)  # the lab's range, loopbacks not management
    config = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "blackbox")
    assert promconfig_seconds(job["scrape_interval"]) <= 5
    assert promconfig_seconds(config["global"]["evaluation_interval"]) <= 5
    assert job["params"] == {"module": [PROBE_MODULE]} and job["relabel_configs"][-1]["replacement"] == "198.19.0.2:9115"
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9093"]


def promconfig_seconds(text: str) -> float:
    from hatang.monitoring.sla import parse_duration

    return parse_duration(text)


def test_blackbox_accepts_the_generated_module(tmp_path: Path, inv) -> None:
    promconfig.write_config(inv, tmp_path, promconfig.ConfigOptions())
    done = subprocess.run(["prometheus-blackbox-exporter", f"--config.file={tmp_path / 'blackbox.yml'}", "--config.check"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    module = yaml.safe_load((tmp_path / "blackbox.yml").read_text())["modules"][PROBE_MODULE]
    assert module["prober"] == "icmp" and module["icmp"]["preferred_ip_protocol"] == "ip4"


def test_tree_from_the_inventory(inv) -> None:
    places = placements(inv)
    core = next(p for p in places.values() if p.role == "core")
    district = places["dr-vinh-yen"]
    communes = {d.name for d in inv.routers() if d.role.value == "commune_cpe" and inv.uplink(d.name).peer == "dr-vinh-yen"}
    assert district.upstream == core.device and district.area == "vinh-yen"
    assert set(district.behind) == communes and len(communes) > 1
    assert set(core.behind) == set(places) - {core.device}
    assert places["cpe-tich-son"].behind == () and places["cpe-tich-son"].area == "vinh-yen"
    assert core.area == "core"


def test_topology_rules_name_the_communes_behind_a_district(tmp_path: Path, inv) -> None:
    small = {d.name for d in inv.lab_devices("small")}
    promconfig.write_config(inv, tmp_path, promconfig.ConfigOptions(), small)
    rules = yaml.safe_load((tmp_path / "rules" / "topology.rules.yml").read_text())["groups"][0]["rules"]
    devices = {r["labels"]["device"]: r["labels"] for r in rules if r["record"] == "hatang_device_topology"}
    assert set(devices) == small
    communes = sorted(display_name(inv, inv.sites[inv.device(n).site]) for n in small if inv.device(n).role.value == "commune_cpe")
    assert sorted(devices["dr-vinh-yen"]["behind"].split(BEHIND_SEPARATOR)) == communes
    assert "Phường Vĩnh Yên, Tích Sơn cũ" in communes  # the 2025 unit first, the old name second
    assert devices["dr-vinh-yen"]["behind_count"] == str(len(communes))
    links = {r["labels"]["link"]: r["labels"]["area"] for r in rules if r["record"] == "hatang_link_topology"}
    assert links["dr-vinh-yen--cpe-tich-son"] == "vinh-yen"
    assert all(area == "vinh-yen" for area in links.values())  # the core–district link is the district's too


def test_a_page_names_at_most_so_many_sites_and_counts_the_rest(inv) -> None:
    """The core's page would name all 136 sites: past BEHIND_SHOWN it names the first ones
    and says how many more (a phone message holds 4,096 characters); a region's router is
    named in full."""
    places = placements(inv, [d.name for d in inv.routers()])
    core = next(p for p in places.values() if p.role == "core")
    shown = behind_names(inv, core).split(BEHIND_SEPARATOR)
    assert len(core.behind) > BEHIND_SHOWN and len(shown) == BEHIND_SHOWN + 1
    assert shown[-1] == f"… and {len(core.behind) - BEHIND_SHOWN} more" and len(behind_names(inv, core)) < 4096
    district = places["dr-vinh-yen"]
    assert len(behind_names(inv, district).split(BEHIND_SEPARATOR)) == len(district.behind) <= BEHIND_SHOWN
