"""hatang as an operator installs it: a wheel built with ``python -m build``, installed
with ``pipx`` into a fresh virtualenv (not editable), run from outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from hatang.inventory.load import load

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
RUNTIME_FILES = [  # one of each kind read at run time, as the wheel must hold it
    "hatang/inventory/datacenter.yaml",
    "hatang/inventory/addressing/lab.yaml",
    "hatang/network/templates/frr/core.j2",
    "hatang/network/drivers/frr_agent.py",
    "hatang/monitoring/rules/hatang.rules.yml",
    "hatang/monitoring/modules/if_mib.yaml",
    "hatang/runbooks/device-down.md",
    "hatang/cloud/pve-api-schema.json.gz",
    "hatang/cloud/capacity/examples/catalog.yaml",
    "hatang/deploy/playbooks/baseline-audit.yml",
    "hatang/lab/host_init.py",
]


def test_every_folder_of_a_room_is_declared() -> None:
    """A folder missing from ``packages`` would be left out of the wheel without a word."""
    declared = set(SETUPTOOLS["packages"])
    folders = {Path(path): name for name, path in SETUPTOOLS["package-dir"].items()}
    missing = []
    for folder, name in folders.items():
        for directory in [ROOT / folder, *(p for p in (ROOT / folder).rglob("*") if p.is_dir())]:
            relative = directory.relative_to(ROOT)
            owner = max((f for f in folders if relative.is_relative_to(f)), key=lambda f: len(f.parts))
            if owner != folder or directory.name == "__pycache__" or not any(p.is_file() for p in directory.iterdir()):
                continue
            dotted = ".".join([name, *relative.relative_to(folder).parts])
            if dotted not in declared:
                missing.append(f"{relative} ({dotted})")
    assert not missing, f"pyproject.toml [tool.setuptools] packages lacks: {', '.join(missing)}"


def _secrets_env() -> dict[str, str]:
    """A value for every credential field the inventory declares (render needs some)."""
    refs = yaml.safe_load((ROOT / "inventory" / "credentials.yaml").read_text(encoding="utf-8"))["credentials"]
    return {f"HATANG_SECRET_{ref.upper().replace('-', '_')}_{field.upper()}": f"smoke-{field}-2026" for ref, spec in refs.items() for field in spec["fields"]}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    assert "WARNING" not in build.stdout + build.stderr, "setuptools warns about the package layout"
    return out


def test_wheel_and_sdist_hold_the_runtime_files(dist: Path) -> None:
    (wheel,), (sdist,) = dist.glob("*.whl"), dist.glob("*.tar.gz")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert not [f for f in RUNTIME_FILES if f not in names]
    assert "napalm_frr/__init__.py" in names
    with tarfile.open(sdist) as tar:
        members = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"pyproject.toml", "inventory/datacenter.yaml", "network/drivers/frr_agent.py"} <= members


def test_pipx_installed_wheel_runs(dist: Path, tmp_path: Path) -> None:
    """pipx makes a fresh venv and installs the wheel (not editable); then the smoke test
    runs there, from a folder that is not the checkout, with the shipped example inventory."""
    (wheel,) = dist.glob("*.whl")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HATANG_", "PIPX_", "VIRTUAL_ENV", "PYTHONPATH"))},
        "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin"), "PIPX_MAN_DIR": str(tmp_path / "man"),
        "HATANG_STATE_DIR": str(tmp_path / "state"), **_secrets_env(),
    }
    pipx = Path(sys.executable).with_name("pipx")
    installed = subprocess.run([str(pipx), "install", str(wheel)], capture_output=True, text=True, env=env, timeout=900)
    assert installed.returncode == 0, installed.stderr[-3000:]
    hatang = tmp_path / "bin" / "hatang"
    work = tmp_path / "work"
    work.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(hatang), *args], capture_output=True, text=True, env=env, cwd=work, timeout=300)
        assert done.returncode == 0, f"hatang {' '.join(args)}: {done.stderr[-3000:]}"
        return done

    python = next((tmp_path / "pipx" / "venvs" / "hatang" / "bin").glob("python3*"))
    where = subprocess.run([str(python), "-c", "import hatang.inventory, hatang.paths; print(hatang.inventory.__file__); print(hatang.paths.DEFAULT_INVENTORY)"],
                           capture_output=True, text=True, env=env, cwd=work, timeout=60)
    module, inventory = where.stdout.split()
    assert Path(module).is_relative_to(tmp_path / "pipx") and Path(inventory).is_relative_to(tmp_path / "pipx"), where.stdout + where.stderr
    assert "Usage: hatang" in run("--help").stdout
    assert '"ok": true' in run("inventory", "validate", "--json").stdout
    run("net", "render", "-o", "configs")
    rendered = sorted((work / "configs").iterdir())
    assert len(rendered) == len(load(None, "lab").routers()) and all(p.stat().st_size > 0 for p in rendered)
    run("monitor", "config", "-o", "prometheus")
    assert {p.name for p in (work / "prometheus").iterdir()} >= {"prometheus.yml", "rules", "targets"}
    assert (work / "prometheus" / "rules" / "hatang.rules.yml").stat().st_size > 0
