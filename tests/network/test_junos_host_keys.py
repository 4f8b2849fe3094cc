"""Junos host keys are verified against the routers' known_hosts, as for the other
platforms: napalm's Junos driver alone accepts any key. Tried against an SSH server of
the test's own on loopback (paramiko), with the key known, unknown, and replaced."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import napalm
import paramiko
import pytest
from jnpr.junos.exception import ConnectAuthError
from napalm.base.exceptions import ConnectionException

from hatang.inventory import load
from hatang.network.connect import driver_for, junos_ssh_config, known_hosts_path, verify_host_keys


class RefuseEveryLogin(paramiko.ServerInterface):
    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        return paramiko.AUTH_FAILED


@contextmanager
def ssh_server(key: paramiko.PKey) -> Iterator[int]:
    """An SSH server on 127.0.0.1 presenting ``key`` and refusing every login; its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    transports: list[paramiko.Transport] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            transport = paramiko.Transport(conn)
            transport.add_server_key(key)
            transport.start_server(server=RefuseEveryLogin())
            transports.append(transport)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for transport in transports:
            transport.close()
        listener.close()


def open_junos(known_hosts: Path, port: int) -> None:
    driver = napalm.get_network_driver("junos")("127.0.0.1", "netadmin", "wrong", timeout=10,
                                                optional_args={"ssh_config_file": str(junos_ssh_config(known_hosts)), "port": port})
    verify_host_keys(driver).open()


def known(tmp_path: Path, port: int, key: paramiko.PKey | None) -> Path:
    keys = paramiko.HostKeys()
    if key is not None:
        keys.add(f"[127.0.0.1]:{port}", key.get_name(), key)
    path = tmp_path / "routers_known_hosts"
    keys.save(str(path))
    return path


@pytest.fixture(scope="module")
def host_key() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate()


def test_an_unknown_host_key_is_refused(tmp_path: Path, host_key: paramiko.PKey) -> None:
    with ssh_server(host_key) as port, pytest.raises(ConnectionException, match="127.0.0.1: SSH host key unknown or changed"):
        open_junos(known(tmp_path, port, None), port)


def test_a_replaced_host_key_is_refused(tmp_path: Path, host_key: paramiko.PKey) -> None:
    with ssh_server(host_key) as port, pytest.raises(ConnectionException, match="SSH host key unknown or changed"):
        open_junos(known(tmp_path, port, paramiko.ECDSAKey.generate()), port)


def test_the_known_host_key_lets_the_login_proceed(tmp_path: Path, host_key: paramiko.PKey) -> None:
    """Past the key check, the server's refusal of the password is what stops it."""
    with ssh_server(host_key) as port, pytest.raises(ConnectAuthError):
        open_junos(known(tmp_path, port, host_key), port)


def test_production_junos_drivers_verify(fake_secrets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HATANG_STATE_DIR", str(tmp_path))
    driver = driver_for(load(env="production"), "core-iic")  # built, never opened: no traffic
    assert driver.device._hostkey_verify is True
    config = Path(driver.ssh_config_file).read_text()
    assert f"UserKnownHostsFile {known_hosts_path('production')}" in config
