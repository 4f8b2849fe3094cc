"""Password hashes: random salts, kept while they verify their password, private on disk."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from hatang.errors import HatangError
from hatang.inventory import load
from hatang.network.hashing import PasswordHashes, cisco_type9, salt_of, sha512_crypt
from hatang.network.render import Renderer

HASHED = {"sha512": (sha512_crypt, r"\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}"), "cisco9": (cisco_type9, r"\$9\$[./0-9A-Za-z]{14}\$[./0-9A-Za-z]{43}")}


@pytest.mark.parametrize("kind", HASHED)
def test_random_salt_kept_while_the_password_verifies(tmp_path: Path, kind: str) -> None:
    make, shape = HASHED[kind]
    path = tmp_path / "network" / "password_hashes.json"
    first = PasswordHashes(path).hash(kind, "net-admin", "s3cret-pass")
    assert re.fullmatch(shape, first)
    assert make("s3cret-pass", salt_of(first)) == first  # it verifies the password
    assert PasswordHashes(path).hash(kind, "net-admin", "s3cret-pass") == first  # kept, across processes
    elsewhere = PasswordHashes(tmp_path / "other" / "password_hashes.json").hash(kind, "net-admin", "s3cret-pass")
    assert salt_of(elsewhere) != salt_of(first)  # random, not derived from the password
    changed = PasswordHashes(path).hash(kind, "net-admin", "new-pass")
    assert salt_of(changed) != salt_of(first) and make("new-pass", salt_of(changed)) == changed
    assert json.loads(path.read_text())[f"net-admin/{kind}"] == changed
    assert (stat.S_IMODE(path.stat().st_mode), stat.S_IMODE(path.parent.stat().st_mode)) == (0o600, 0o700)


def test_a_damaged_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "password_hashes.json"
    path.write_text("[1, 2")
    with pytest.raises(HatangError, match="cannot read the password hashes"):
        PasswordHashes(path)


def test_renders_stable_in_one_state_and_salted_apart_in_two(fake_secrets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    production = load(env="production")
    users = lambda text: [line for line in text.splitlines() if line.startswith("username ")]  # noqa: E731
    renders = []
    for state in ("one", "one", "two"):
        monkeypatch.setenv("HATANG_STATE_DIR", str(tmp_path / state))
        renders.append(users(Renderer(production).render("cpe-tich-son").text))
    assert renders[0] == renders[1] and len(renders[0]) == 2
    assert renders[0] != renders[2]
