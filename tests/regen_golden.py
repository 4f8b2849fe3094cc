"""Regenerate the golden render files, outside any test run: ``python -m tests.regen_golden``
from the repository root. Tests only compare against them; review ``git diff`` after."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from hatang.credentials import env_var_name
from hatang.inventory import load
from hatang.inventory.model import Platform
from hatang.network.render import Renderer
from tests.network.conftest import FAKE_SECRETS, GOLDEN_HASHES
from tests.network.test_render import CASES, DEVICES, golden_path


def main() -> int:
    for (ref, field), value in FAKE_SECRETS.items():
        os.environ[env_var_name(ref, field)] = value
    with tempfile.TemporaryDirectory(prefix="hatang-golden-") as state:
        # the password hashes the goldens use (as the fake_secrets fixture does): never
        # fresh random salts, never the operator's own state directory
        (Path(state) / "network").mkdir()
        shutil.copy(GOLDEN_HASHES, Path(state) / "network" / "password_hashes.json")
        os.environ["HATANG_STATE_DIR"] = state
        return regenerate()


def regenerate() -> int:
    inventories = {env: load(env=env) for env in {env for env, _, _ in CASES}}
    changed = 0
    for env, platform, role in CASES:
        text = Renderer(inventories[env]).render(DEVICES[role], Platform(platform)).text
        path = golden_path(platform, role)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed += 1
            print(f"rewrote {path}")
    print(f"{changed} of {len(CASES)} golden files changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
