"""Backups and rendered configurations hold password hashes and SNMP keys: files 0600 in
0700 directories; a directory others can read is refused, never silently used."""

from __future__ import annotations

import stat
from pathlib import Path

import napalm
import pytest

from hatang.errors import HatangError
from hatang.inventory import load
from hatang.network import backup as backups
from hatang.network.render import Rendered, write

FIXTURES = Path(__file__).parent / "fixtures"
RENDERED = [Rendered("cpe-tich-son", "ios", "commune", "snmp-server user x auth sha KEY\n")]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_rendered_configurations_are_private(tmp_path: Path) -> None:
    out = tmp_path / "new" / "configs"
    (path,) = write(RENDERED, out)
    assert (mode(out), mode(path)) == (0o700, 0o600)


def test_a_directory_others_can_read_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    with pytest.raises(HatangError, match=r"can be read by others \(mode 0755\)"):
        write(RENDERED, shared)
    assert list(shared.iterdir()) == [] and mode(shared) == 0o755  # nothing written, nothing chmod'ed


def test_an_uncreatable_directory_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(HatangError, match="cannot create the directory"):
        write(RENDERED, tmp_path / "file" / "configs")


def test_backups_are_private_even_in_an_old_open_repository(fake_secrets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "backups"
    repo.mkdir()
    repo.chmod(0o755)  # as earlier versions left it
    monkeypatch.setattr(backups, "repository", lambda: repo)

    def open_driver(inv, name):
        return napalm.get_network_driver("mock")(str(inv.mgmt(name).ip), "user", "pass", optional_args={"path": str(FIXTURES / "ios" / "backup/run1")})

    backups.backup(load(env="production"), ["cpe-tich-son"], open_driver=open_driver, show_progress=False)
    assert (mode(repo), mode(repo / "cpe-tich-son.cfg")) == (0o700, 0o600)
