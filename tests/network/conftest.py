"""Fixtures of the network room's tests: a fixed fake credential set (never real
secrets) for rendering, and a spy on the state layer's ``config_diff``. Lab tests use
``lab_small`` from tests/conftest.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hatang.credentials import env_var_name
from hatang.network.state import READERS

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


#: The password hashes the golden files were rendered with: a state directory keeps the
#: hash of each password (random salt) while it verifies, so these are what a render uses.
GOLDEN_HASHES = Path(__file__).parent / "fixtures" / "password_hashes.json"


@pytest.fixture
def fake_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[tuple[str, str], str]:
    """The fake credentials, and a state directory of the test's own holding the golden hashes."""
    for (ref, field), value in FAKE_SECRETS.items():
        monkeypatch.setenv(env_var_name(ref, field), value)
    state = tmp_path / "state"
    (state / "network").mkdir(parents=True)
    shutil.copy(GOLDEN_HASHES, state / "network" / "password_hashes.json")
    monkeypatch.setenv("HATANG_STATE_DIR", str(state))
    return FAKE_SECRETS


@pytest.fixture
def timer_already_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A push whose session is lost after the commit verifies the router once its revert
    timer has fired (:func:`hatang.network.revert.verify`): here that wait is skipped (the
    stand-in routers keep no clock), the reconnect and comparison still run."""
    from hatang.network import push as push_module
    from hatang.network import revert

    monkeypatch.setattr(push_module, "verify", lambda inv, lost, open_driver: revert.verify(inv, lost, open_driver, sleep=lambda s: None))


@pytest.fixture
def layer_reads(monkeypatch) -> list[str]:
    """The platforms whose reader answered ``config_diff``, in call order."""
    calls: list[str] = []
    for platform, reader in list(READERS.items()):
        def config_diff(self, intended: str, _reader=reader) -> str:
            calls.append(self.platform)
            return _reader.config_diff(self, intended)

        monkeypatch.setitem(READERS, platform, type(f"Spy{reader.__name__}", (reader,), {"config_diff": config_diff}))
    return calls
