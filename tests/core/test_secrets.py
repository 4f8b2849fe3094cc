"""Secrets never leak through what hatang serialises or reports: redaction on the data
(so JSON escaping cannot hide a value from it), vault errors that never quote content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hatang import audit, credentials
from hatang.errors import CredentialError
from hatang.redact import redacted

AWKWARD = 'pa"ss\\wo\nrd-Ω'  # a quote, a backslash and a newline: JSON escapes all three


def test_redaction_runs_on_data_not_on_json_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HATANG_STATE_DIR", str(tmp_path))
    (tmp_path / "audit").mkdir()
    record = {"diff": f"+ snmp-server user x auth sha {AWKWARD}", AWKWARD: [f"key {AWKWARD}"], "n": 3}
    audit.append("test", record, secrets=[AWKWARD, "ab"])
    text = (tmp_path / "audit" / "test.jsonl").read_text()
    assert json.dumps(AWKWARD)[1:-1] not in text and "pa" not in text.replace("<redacted>", "")
    stored = list(audit.read("test"))[-1]
    assert stored["diff"] == "+ snmp-server user x auth sha <redacted>"
    assert stored["<redacted>"] == ["key <redacted>"] and stored["n"] == 3


def test_short_values_are_not_secrets_to_redact() -> None:
    assert redacted({"port": "22", "text": "ab ab"}, ["22", "ab"]) == {"port": "22", "text": "ab ab"}


def encrypt(tmp_path: Path, plaintext: str, password: str = "vault-pass") -> Path:
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password.encode()))])
    path = tmp_path / "vault.yml"
    path.write_bytes(vault.encrypt(plaintext.encode()))
    return path


@pytest.mark.parametrize(
    ("plaintext", "message"),
    [
        ("net-admin:\n  password: s3cret-Hunter2\n   bad: [indent\n", "is not valid YAML at line"),
        ("- s3cret-Hunter2\n", "must hold a mapping"),
        ("net-admin: s3cret-Hunter2\n", "credential 'net-admin' must be a mapping of fields"),
    ],
)
def test_vault_errors_never_echo_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plaintext: str, message: str) -> None:
    credentials._vault.cache_clear()
    monkeypatch.setenv("HATANG_VAULT_FILE", str(encrypt(tmp_path, plaintext)))
    monkeypatch.setenv("HATANG_VAULT_PASSWORD", "vault-pass")
    monkeypatch.delenv("HATANG_SECRET_NET_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CredentialError) as raised:
        credentials.secret("net-admin", "password", env="production")
    assert message in raised.value.message
    assert "s3cret" not in raised.value.message + " ".join(raised.value.details)
    assert raised.value.__context__ is None or raised.value.__suppress_context__  # no chained YAML error quoting it


def test_a_wrong_vault_password_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials._vault.cache_clear()
    monkeypatch.setenv("HATANG_VAULT_FILE", str(encrypt(tmp_path, "net-admin: {password: s3cret-Hunter2}\n")))
    monkeypatch.setenv("HATANG_VAULT_PASSWORD", "not-the-password")
    monkeypatch.delenv("HATANG_SECRET_NET_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CredentialError, match="wrong vault password"):
        credentials.secret("net-admin", "password", env="production")


def test_error_text_is_redacted_too() -> None:
    from hatang.redact import redact_text

    assert redact_text(f"commit failed near 'auth sha {AWKWARD}'", [AWKWARD]) == "commit failed near 'auth sha <redacted>'"
