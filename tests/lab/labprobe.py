"""Probes the lab tests use: real SNMP (net-snmp's tools) and real SSH (netmiko, paramiko)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from hatang.credentials import secret

SYS_NAME = "1.3.6.1.2.1.1.5.0"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_ADMIN = "1.3.6.1.2.1.2.2.1.7"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"


def cred(ref: str, field: str) -> str:
    return secret(ref, field, env="lab")


def snmp_args(v3: bool) -> list[str]:
    if v3:
        return ["-v3", "-l", "authPriv", "-u", cred("snmp-v3", "username"), "-a", "SHA", "-A", cred("snmp-v3", "auth_key"),
                "-x", "AES", "-X", cred("snmp-v3", "priv_key")]
    return ["-v2c", "-c", cred("snmp-community", "community")]


def snmp(tool: str, host: str, oid: str, *, v3: bool = False, auth: list[str] | None = None, timeout: int = 2) -> list[str] | None:
    """Values returned by snmpget/snmpwalk (``-Oqv``), or None when the agent does not answer."""
    argv = [tool, *(auth if auth is not None else snmp_args(v3)), "-On", "-Oqv", "-t", str(timeout), "-r", "0", host, oid]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    return [line.strip().strip('"') for line in proc.stdout.splitlines()]


def if_index(host: str, ifname: str) -> int:
    argv = ["snmpwalk", *snmp_args(False), "-On", "-Oq", "-t", "2", "-r", "1", host, IF_NAME]
    for line in subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines():
        oid, value = line.split(" ", 1)
        if value.strip().strip('"') == ifname:
            return int(oid.rsplit(".", 1)[1])
    raise AssertionError(f"{host} has no interface {ifname} in ifXTable")


def wait_for(probe: Callable[[], object], expected: object, timeout_s: float = 12.0) -> object:
    """Poll until ``probe()`` returns ``expected`` (net-snmp caches ifTable for ~3 s)."""
    deadline = time.monotonic() + timeout_s
    value = probe()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.5)
        value = probe()
    return value


def netmiko(host: str, ref: str = "net-admin", **extra):
    from netmiko import ConnectHandler

    return ConnectHandler(device_type="cisco_ios", host=host, username=cred(ref, "username"), password=cred(ref, "password"),
                          timeout=10, conn_timeout=5, auth_timeout=10, **extra)


def ssh_run(host: str, ref: str, command: str, timeout: float = 8.0) -> tuple[int, str]:
    """One command over SSH (paramiko): exit status and output."""
    import paramiko

    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(host, username=cred(ref, "username"), password=cred(ref, "password"), timeout=timeout,
                   banner_timeout=timeout, auth_timeout=timeout, look_for_keys=False, allow_agent=False)
    try:
        _, stdout, stderr = client.exec_command(command, timeout=timeout)
        output = stdout.read().decode() + stderr.read().decode()
        return stdout.channel.recv_exit_status(), output
    finally:
        client.close()
