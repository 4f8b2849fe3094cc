"""Every broken inventory of the corpus fails validation with its expected messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

CORPUS = yaml.safe_load((Path(__file__).parent / "broken.yaml").read_text(encoding="utf-8"))


def apply_edits(directory: Path, edits: list[dict]) -> None:
    for edit in edits:
        path = directory / edit["file"]
        text = path.read_text(encoding="utf-8")
        assert text.count(edit["find"]) == 1, f"corpus edit must match once in {edit['file']}: {edit['find']!r}"
        path.write_text(text.replace(edit["find"], edit["replace"]), encoding="utf-8")


def hatang(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatang.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_broken_inventory_is_refused_with_its_messages(case: dict, inventory_copy: Path) -> None:
    apply_edits(inventory_copy, case["edits"])
    result = hatang("inventory", "validate", "--env", "lab", "--inventory", str(inventory_copy))
    assert result.returncode == 2, result.stdout + result.stderr
    for expected in case["expect"]:
        assert expected in result.stderr, f"{expected!r} not in:\n{result.stderr}"


def test_json_output_lists_problems_with_file_key_and_line(inventory_copy: Path) -> None:
    case = next(c for c in CORPUS if c["name"] == "unknown-platform")
    apply_edits(inventory_copy, case["edits"])
    result = hatang("inventory", "validate", "--json", "--inventory", str(inventory_copy))
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False
    (problem,) = report["problems"]
    assert problem["file"].endswith("network.yaml")
    assert problem["key"] == "devices[3].platform"
    assert problem["line"] == 28


def test_all_errors_are_reported_at_once(inventory_copy: Path) -> None:
    """Problems in several files come out together, not one per run."""
    edits = [e for c in CORPUS if c["name"] in ("unknown-platform", "missing-commune-code", "unknown-key") for e in c["edits"]]
    apply_edits(inventory_copy, edits)
    result = hatang("inventory", "validate", "--inventory", str(inventory_copy))
    assert result.returncode == 2
    for needle in ("devices[3].platform", "communes[0].code", "ram_gb: unknown key"):
        assert needle in result.stderr
