"""``hatang inventory allocate --prune``: validates first, shows and asks, never releases
what still exists, writes atomically keeping the previous plan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from hatang.inventory import load


def prune(directory: Path, *extra: str, answer: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hatang.cli", "inventory", "allocate", "--prune", "--env", "lab", "--inventory", str(directory), *extra],
        capture_output=True, text=True, timeout=120, input=answer,
    )


def plan_file(directory: Path) -> Path:
    return directory / "addressing" / "lab.yaml"


def test_an_empty_network_yaml_releases_nothing(inventory_copy: Path) -> None:
    before = plan_file(inventory_copy).read_bytes()
    (inventory_copy / "network.yaml").write_text("", encoding="utf-8")
    result = prune(inventory_copy, "--yes")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "network.yaml:1: devices: missing" in result.stderr
    assert plan_file(inventory_copy).read_bytes() == before
    assert not (inventory_copy / "addressing" / "lab.yaml.previous").exists()


def test_a_network_without_its_cpes_releases_nothing(inventory_copy: Path) -> None:
    """network.yaml loads, but every commune lost its CPE: validation stops the prune."""
    before = plan_file(inventory_copy).read_bytes()
    network = yaml.safe_load((inventory_copy / "network.yaml").read_text(encoding="utf-8"))
    kept = {d["name"] for d in network["devices"] if d["role"] != "commune_cpe"}
    network["devices"] = [d for d in network["devices"] if d["name"] in kept]
    network["links"] = [link for link in network["links"] if link["b"]["device"] in kept]
    (inventory_copy / "network.yaml").write_text(yaml.safe_dump(network, allow_unicode=True), encoding="utf-8")
    result = prune(inventory_copy, "--yes")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "refusing to prune" in result.stderr and "nothing released" in result.stderr
    assert "has no commune_cpe device in network.yaml" in result.stderr
    assert plan_file(inventory_copy).read_bytes() == before


def add_stray_allocations(directory: Path) -> None:
    """A leftover of a removed CPE, and the lab addresses of a production-only device."""
    path = plan_file(directory)
    text = path.read_text(encoding="utf-8")
    text = text.replace("    core-iic: 198.19.0.4/32\n", "    core-iic: 198.19.0.4/32\n    cpe-ghost: 198.19.3.200/32\n    fw-iic-edge: 198.19.3.201/32\n")
    path.write_text(text, encoding="utf-8")
    assert "cpe-ghost" in path.read_text(encoding="utf-8")


def test_declined_prune_changes_nothing(inventory_copy: Path) -> None:
    add_stray_allocations(inventory_copy)
    before = plan_file(inventory_copy).read_bytes()
    result = prune(inventory_copy, answer="n\n")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "cpe-ghost" in result.stdout and "198.19.3.200/32" in result.stdout
    assert "prune cancelled; the address plan is unchanged" in result.stderr
    assert plan_file(inventory_copy).read_bytes() == before


def test_prune_releases_only_owners_that_left_and_keeps_the_previous_plan(inventory_copy: Path) -> None:
    add_stray_allocations(inventory_copy)
    before = plan_file(inventory_copy).read_bytes()
    result = prune(inventory_copy, "--yes", "--json")
    assert result.returncode == 0, result.stderr
    released = yaml.safe_load(result.stdout)["released"]
    assert released == [["mgmt", "cpe-ghost", "198.19.3.200/32"]]  # fw-iic-edge exists (production only): kept
    after = yaml.safe_load(plan_file(inventory_copy).read_text(encoding="utf-8"))["allocations"]["mgmt"]
    assert "cpe-ghost" not in after and after["fw-iic-edge"] == "198.19.3.201/32"
    assert (inventory_copy / "addressing" / "lab.yaml.previous").read_bytes() == before
    assert not list((inventory_copy / "addressing").glob(".*hatang-new"))
    load(inventory_copy, "lab")


def test_json_prune_without_yes_asks_for_it(inventory_copy: Path) -> None:
    add_stray_allocations(inventory_copy)
    before = plan_file(inventory_copy).read_bytes()
    result = prune(inventory_copy, "--json")
    assert result.returncode == 2
    assert "add --yes" in result.stderr
    assert plan_file(inventory_copy).read_bytes() == before
