"""Fixtures of the network room's tests: a fixed fake credential set (never real
secrets) for rendering. Lab tests use ``lab_small`` from tests/conftest.py."""

from __future__ import annotations

import pytest

from hatang.credentials import env_var_name

#: The fake credentials golden files are rendered with (values are test data only).
FAKE_SECRETS = {
    ("net-admin", "username"): "netadmin",
    ("net-admin", "password"): "golden-admin-password",
    ("net-readonly", "username"): "netview",
    ("net-readonly", "password"): "golden-readonly-password",
    ("snmp-v3", "username"): "hatang-mon",
    ("snmp-v3", "auth_key"): "golden-auth-key",
    ("snmp-v3", "priv_key"): "golden-priv-key",
    ("snmp-community", "community"): "golden-community",
}


@pytest.fixture
def fake_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], str]:
    for (ref, field), value in FAKE_SECRETS.items():
        monkeypatch.setenv(env_var_name(ref, field), value)
    return FAKE_SECRETS
