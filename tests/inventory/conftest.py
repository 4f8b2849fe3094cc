"""Fixtures for inventory tests: a scratch copy of the real inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.hostile import copy_inventory


@pytest.fixture
def inventory_copy(tmp_path: Path) -> Path:
    """A writable copy of the repository's inventory (YAML only)."""
    return copy_inventory(tmp_path / "inventory")
