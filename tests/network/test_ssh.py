"""Reading known-hosts files: a connection sees the keys of its own host only, whether
its line is plain, hashed or for another port (the real sshd side is in test_lab)."""

from __future__ import annotations

from pathlib import Path

import paramiko

from hatang.network.drivers.ssh import known_keys

KEY_TYPE = "ecdsa-sha2-nistp256"


def _known_hosts(tmp_path: Path, entries: list[tuple[str, paramiko.PKey]]) -> Path:
    keys = paramiko.HostKeys()
    for name, key in entries:
        keys.add(name, KEY_TYPE, key)
    path = tmp_path / "known_hosts"
    keys.save(str(path))
    return path


def _key_of(path: Path, host: str, port: int = 22) -> str | None:
    found = known_keys(path, host, port).lookup(host if port == 22 else f"[{host}]:{port}")
    return found[KEY_TYPE].get_base64() if found else None


def test_each_host_gets_its_own_key_and_no_other(tmp_path: Path) -> None:
    a, b, c, d = (paramiko.ECDSAKey.generate() for _ in range(4))
    path = _known_hosts(tmp_path, [
        ("198.18.0.1", a), ("198.18.0.10", b), (paramiko.HostKeys.hash_host("198.18.0.2"), c), ("[198.18.0.1]:2222", d),
    ])
    # "198.18.0.1" is a prefix of "198.18.0.10": each still gets its own key
    assert _key_of(path, "198.18.0.1") == a.get_base64()
    assert _key_of(path, "198.18.0.10") == b.get_base64()
    assert _key_of(path, "198.18.0.2") == c.get_base64()
    assert _key_of(path, "198.18.0.1", 2222) == d.get_base64()
    assert _key_of(path, "198.18.0.3") is None


def test_comments_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    key = paramiko.ECDSAKey.generate()
    path = tmp_path / "known_hosts"
    path.write_text(f"# routers of the lab\n\n198.18.0.5,r5 {KEY_TYPE} {key.get_base64()}\n")
    assert _key_of(path, "198.18.0.5") == key.get_base64()
    assert _key_of(path, "r5") == key.get_base64()
