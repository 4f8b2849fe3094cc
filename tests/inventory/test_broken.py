"""Every broken or hostile inventory of the corpus fails validation: exit 2, its expected
messages, a file:line location, and no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.hostile import apply_edits, corpus, validate

CORPUS = corpus()


def hatang(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatang.cli", *args], capture_output=True, text=True, timeout=120)


def test_the_corpus_is_large_and_named_uniquely() -> None:
    names = [c["name"] for c in CORPUS]
    assert len(names) >= 60
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_broken_inventory_is_refused_with_its_messages(case: dict, inventory_copy: Path) -> None:
    apply_edits(inventory_copy, case["edits"])
    outcome = validate(inventory_copy)
    assert outcome.traceback is None, outcome.traceback
    assert outcome.exit_code == 2, outcome.stderr
    assert outcome.located, f"no file:line location in:\n{outcome.stderr}"
    for expected in case["expect"]:
        assert expected in outcome.stderr, f"{expected!r} not in:\n{outcome.stderr}"


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
    assert problem["line"] == 27


def test_all_errors_are_reported_at_once(inventory_copy: Path) -> None:
    """Problems in several files come out together, not one per run."""
    edits = [e for c in CORPUS if c["name"] in ("unknown-platform", "missing-commune-code", "unknown-key") for e in c["edits"]]
    apply_edits(inventory_copy, edits)
    result = hatang("inventory", "validate", "--inventory", str(inventory_copy))
    assert result.returncode == 2
    for needle in ("devices[3].platform", "communes[0].code", "ram_gb: unknown key"):
        assert needle in result.stderr


def test_random_hostile_values_never_crash_validation(tmp_path: Path) -> None:
    """One hostile value anywhere (60 seeded mutations): refused with a location, or valid."""
    from bench.hostile import mutation_run

    for what, outcome in mutation_run(7, 60, tmp_path):
        assert outcome.traceback is None, f"{what}:\n{outcome.traceback}"
        assert outcome.exit_code in (0, 2), f"{what}: {outcome.stderr}"
        assert outcome.exit_code == 0 or outcome.located, f"{what}: {outcome.stderr}"
