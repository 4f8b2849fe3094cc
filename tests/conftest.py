"""Shared fixtures. The lab fixtures live in tests/lab_fixtures.py (owned by the lab room)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: make lab_fixtures importable

from lab_fixtures import lab_lock, lab_small  # noqa: E402,F401  (session fixtures every room's lab tests share)
