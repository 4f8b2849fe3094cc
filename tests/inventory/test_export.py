"""Exports round-trip through the real tools that consume them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hatang.inventory import load

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def inv():
    return load(None, "lab")


def export(tmp_path: Path, fmt: str, name: str) -> Path:
    target = tmp_path / name
    result = subprocess.run(
        [sys.executable, "-m", "hatang.cli", "inventory", "export", fmt, "-o", str(target)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return target


def test_pyinfra_loads_every_linux_host(tmp_path: Path, inv) -> None:
    module = export(tmp_path, "pyinfra", "inventory.py")
    result = subprocess.run([str(BIN / "pyinfra"), str(module), "debug-inventory"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr  # pyinfra prints its inventory on stderr
    listed = {line.strip()[1:-1] for line in output.splitlines() if line.startswith("[")}
    assert listed == {h.name for h in inv.linux_hosts()}
    assert f'"ssh_hostname": "{inv.host_address("pve-core-01", 10).ip}"' in output


def test_ansible_inventory_lists_devices_and_servers(tmp_path: Path, inv) -> None:
    target = export(tmp_path, "ansible", "inventory.yml")
    result = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(target), "--list"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    hostvars = listed["_meta"]["hostvars"]
    assert set(hostvars) == set(inv.device_by_name) | {h.name for h in inv.linux_hosts()}
    assert hostvars["cpe-tich-son"]["ansible_host"] == str(inv.mgmt("cpe-tich-son").ip)
    assert hostvars["cpe-tich-son"]["ansible_network_os"] == "cisco.ios.ios"
    assert len(listed["role_commune_cpe"]["hosts"]) == 136
    assert "role_core" in listed["network"]["children"]


def test_nornir_simple_inventory_loads(tmp_path: Path, inv) -> None:
    from nornir import InitNornir

    target = export(tmp_path, "nornir", "nornir")
    nr = InitNornir(
        inventory={
            "plugin": "SimpleInventory",
            "options": {"host_file": str(target / "hosts.yaml"), "group_file": str(target / "groups.yaml"), "defaults_file": str(target / "defaults.yaml")},
        },
        runner={"plugin": "serial"},
        logging={"enabled": False},
    )
    assert set(nr.inventory.hosts) == set(inv.device_by_name)
    host = nr.inventory.hosts["dr-vinh-yen"]
    assert host.platform == "frr" and host.hostname == str(inv.mgmt("dr-vinh-yen").ip)
    assert len(nr.filter(role="commune_cpe").inventory.hosts) == 136
    assert "district_vinh_yen" in {g.name for g in nr.inventory.hosts["cpe-tich-son"].groups}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed")
def test_prometheus_file_sd_passes_promtool(tmp_path: Path, inv) -> None:
    target = export(tmp_path, "prometheus-sd", "targets.json")
    config = tmp_path / "prometheus.yml"
    config.write_text(f"scrape_configs:\n- job_name: snmp\n  file_sd_configs:\n  - files: [{target}]\n")
    result = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    entries = json.loads(target.read_text())
    assert len(entries) == len(inv.device_by_name)
    tich_son = next(e for e in entries if e["labels"]["device"] == "cpe-tich-son")
    assert tich_son["labels"] | {"district": "vinh-yen", "gso_code": "08707", "role": "commune_cpe"} == tich_son["labels"]


def test_ansible_never_runs_inventory_text_as_a_template(tmp_path: Path, inventory_copy: Path) -> None:
    """A name is free text (the policy allows braces); Ansible must show it, not run it."""
    marker = tmp_path / "PWNED"
    province = inventory_copy / "province.yaml"
    text = province.read_text(encoding="utf-8")
    payload = f"Tích Sơn {{{{ lookup('pipe', 'touch {marker}') }}}}"
    province.write_text(text.replace("  name: Tích Sơn\n", f'  name: "{payload}"\n'), encoding="utf-8")
    target = tmp_path / "inventory.yml"
    result = subprocess.run([sys.executable, "-m", "hatang.cli", "inventory", "export", "ansible", "--inventory", str(inventory_copy), "-o", str(target)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    shown = subprocess.run([str(BIN / "ansible"), "cpe-tich-son", "-i", str(target), "-m", "debug", "-a", "var=hatang_site_name"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert json.dumps(f"Phường Vĩnh Yên, {payload} cũ", ensure_ascii=False) in shown.stdout  # shown as written, 2025 unit first
    assert not marker.exists()


def test_pyinfra_export_is_literals_only(inv) -> None:
    import ast

    from hatang.inventory.export import pyinfra

    module = ast.parse(pyinfra(inv)["inventory.py"])
    for statement in module.body[1:]:
        assert isinstance(statement, ast.Assign)
        assert ast.literal_eval(statement.value)


def test_pyinfra_export_refuses_a_group_that_is_not_a_name(inv) -> None:
    """Defence in depth: the loader already refuses such roles; the exporter refuses
    them too if a host reaches it some other way."""
    from dataclasses import replace

    from hatang.errors import InventoryError
    from hatang.inventory.export import pyinfra

    class Hostile:
        env = inv.env

        def linux_hosts(self):
            first = inv.linux_hosts()[0]
            return [replace(first, roles=("x = __import__('os').system('id') #",))]

    with pytest.raises(InventoryError, match="cannot export group"):
        pyinfra(Hostile())
