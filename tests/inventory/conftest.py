"""Fixtures for inventory tests: a scratch copy of the real inventory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hatang.paths import DEFAULT_INVENTORY


def copy_inventory(target: Path) -> Path:
    shutil.copytree(DEFAULT_INVENTORY, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


@pytest.fixture
def inventory_copy(tmp_path: Path) -> Path:
    """A writable copy of the repository's inventory (YAML only)."""
    return copy_inventory(tmp_path / "inventory")
