"""The backup transfer is pinned to the backup server's host key known to hatang: the
client never learns a key on first contact (no accept-new)."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest

from hatang.deploy import backup
from hatang.errors import HatangError

SERVER = "198.18.3.20"


@pytest.fixture
def lab_known_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> paramiko.PKey:
    key, other = paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()
    known = tmp_path / "lab" / "hosts" / "known_hosts"
    known.parent.mkdir(parents=True)
    known.write_text(f"198.18.3.21 {other.get_name()} {other.get_base64()}\n{SERVER} {key.get_name()} {key.get_base64()}\n")
    monkeypatch.setenv("HATANG_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("HATANG_SECRET_SERVER_ADMIN_USERNAME", "root")
    monkeypatch.setenv("HATANG_SECRET_SERVER_ADMIN_SSH_PRIVATE_KEY_FILE", str(tmp_path / "key"))
    return key


def test_the_clients_know_exactly_the_servers_key(lab_known_hosts: paramiko.PKey) -> None:
    assert backup.server_known_hosts(SERVER, "lab") == f"{SERVER} {lab_known_hosts.get_name()} {lab_known_hosts.get_base64()}\n"


def test_an_unknown_server_is_refused(lab_known_hosts: paramiko.PKey) -> None:
    with pytest.raises(HatangError, match=r"no host key of the backup server 198\.18\.3\.99 in .*known_hosts"):
        backup.server_known_hosts("198.18.3.99", "lab")


def test_the_transfer_checks_strictly_against_that_file() -> None:
    text = backup.script(SERVER, ["true"])
    assert f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={backup.KNOWN_HOSTS}" in text
    assert "accept-new" not in text


def test_a_damaged_known_hosts_is_a_clear_error(lab_known_hosts: paramiko.PKey, tmp_path: Path) -> None:
    (tmp_path / "lab" / "hosts" / "known_hosts").write_text(f"{SERVER} ssh-ed25519 not-base64!\n")
    with pytest.raises(HatangError, match="cannot read the known hosts"):
        backup.server_known_hosts(SERVER, "lab")
