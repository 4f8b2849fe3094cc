"""Open a napalm driver for an inventory device: platform, address, credentials, host keys.

Credentials come only through :func:`hatang.credentials.secret` (the device's
``credentials`` reference; the lab's admin login from ``lab-admin``). Host keys: in the
lab they are recorded on first contact; elsewhere they must already be known, for every
platform (Junos included: see :func:`verify_host_keys`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import napalm
from napalm.base import NetworkDriver
from napalm.base.exceptions import ConnectionException
from ncclient.transport.errors import SSHUnknownHostError

from hatang.credentials import secret
from hatang.inventory import model as m
from hatang.inventory.export import NAPALM_DRIVER
from hatang.inventory.inventory import Inventory
from hatang.paths import state_path, write_private
from hatang.results import Result, Results, run_per_host

R = TypeVar("R", bound=Result)

LAB_ADMIN_CREDENTIAL = "lab-admin"


def known_hosts_path(env: str) -> Path:
    """Where SSH host keys of the routers are kept for ``env``."""
    return state_path("lab" if env == "lab" else "network") / "routers_known_hosts"


def driver_args(inv: Inventory, name: str, *, timeout: int = 30, one_login: bool = False) -> tuple[str, dict]:
    """(napalm driver name, constructor keyword arguments) for device ``name``.

    ``one_login``: an FRR router is reached through its admin login only, getters
    included (vtysh run from the admin shell), instead of a second login as the network
    user: a push of 140-odd routers then costs their sshd half the logins."""
    device = inv.device(name)
    platform = inv.platform(device)
    known_hosts = known_hosts_path(inv.env)
    optional: dict = {}
    if platform == m.Platform.frr:
        optional = {
            "pathspace": name,
            "admin_username": secret(LAB_ADMIN_CREDENTIAL, "username", env=inv.env),
            "admin_password": secret(LAB_ADMIN_CREDENTIAL, "password", env=inv.env),
            "known_hosts": str(known_hosts),
            "host_keys": "record" if inv.env == "lab" else "require",
            "vtysh_via": "admin" if one_login else "login",
        }
    elif platform == m.Platform.eos:
        optional = {"transport": "https"}  # eAPI: configuration sessions with a commit timer
    elif platform in (m.Platform.ios, m.Platform.huawei_vrp):
        optional = {"ssh_strict": True, "alt_host_keys": True, "alt_key_file": str(known_hosts)}
    elif platform == m.Platform.junos:
        optional = {"ssh_config_file": str(junos_ssh_config(known_hosts))}
    return NAPALM_DRIVER[platform], {
        "hostname": str(inv.mgmt(name).ip),
        "username": secret(device.credentials, "username", env=inv.env),
        "password": secret(device.credentials, "password", env=inv.env),
        "timeout": timeout,
        "optional_args": optional,
    }


@functools.lru_cache(maxsize=None)
def driver_class(name: str) -> type[NetworkDriver]:
    """napalm's driver class by name, cached: napalm imports the driver's module on
    every lookup, under the import lock, which a push's 140 concurrent connections would
    queue on. Huawei VRP is napalm-huawei-vrp with hatang's safe push (drivers/vrp.py)."""
    if name == "huawei_vrp":
        from hatang.network.drivers.vrp import VrpDriver

        return VrpDriver
    return napalm.get_network_driver(name)


def junos_ssh_config(known_hosts: Path) -> Path:
    """An ssh_config for napalm's Junos driver (PyEZ, ncclient): the routers' known_hosts
    and nothing else; rewritten only when it would change."""
    path = known_hosts.with_name("junos_ssh_config")
    text = f"Host *\n    UserKnownHostsFile {known_hosts}\n    StrictHostKeyChecking yes\n"
    if not path.exists() or path.read_text() != text:
        write_private(path, text)
    return path


def verify_host_keys(driver: NetworkDriver) -> NetworkDriver:
    """A Junos driver that checks the router's host key against its ssh_config's
    UserKnownHostsFile. napalm builds PyEZ's ``Device`` without ``hostkey_verify``, whose
    default is False (any key accepted), and offers no optional argument for it."""
    device = getattr(driver, "device", None)
    if not hasattr(device, "_hostkey_verify"):  # a napalm or PyEZ that works otherwise must fail loudly
        raise RuntimeError("napalm's Junos driver has no PyEZ Device with _hostkey_verify: update hatang.network.connect")
    device._hostkey_verify = True  # type: ignore[union-attr]
    opener = driver.open

    def open_verified() -> None:
        """PyEZ reports a refused host key as ConnectRefusedError: say what happened."""
        try:
            opener()
        except Exception as exc:
            if isinstance(exc.__context__, SSHUnknownHostError):
                raise ConnectionException(f"{driver.hostname}: SSH host key unknown or changed: {exc.__context__}") from exc
            raise

    driver.open = open_verified  # type: ignore[method-assign]
    return driver


def driver_for(inv: Inventory, name: str, *, timeout: int = 30, one_login: bool = False) -> NetworkDriver:
    """A napalm driver for ``name``, not yet opened (``one_login``: see :func:`driver_args`)."""
    driver_name, kwargs = driver_args(inv, name, timeout=timeout, one_login=one_login)
    driver = driver_class(driver_name)(**kwargs)
    return verify_host_keys(driver) if inv.platform(inv.device(name)) == m.Platform.junos else driver


#: The driver of bulk work (push, diff, drift, backup): one login per router.
one_login_driver_for = functools.partial(driver_for, one_login=True)


@contextmanager
def connected(inv: Inventory, name: str, *, timeout: int = 30, one_login: bool = False) -> Iterator[NetworkDriver]:
    """An opened driver for ``name``, closed on exit whatever happens."""
    driver = driver_for(inv, name, timeout=timeout, one_login=one_login)
    driver.open()
    try:
        yield driver
    finally:
        driver.close()


def run_per_router(
    inv: Inventory,
    devices: Sequence[str],
    task: Callable[[str, NetworkDriver], R],
    *,
    open_driver: Callable[[Inventory, str], NetworkDriver] = one_login_driver_for,
    refuse: Callable[[str], R | None] = lambda name: None,
    unreachable: Callable[[str, Exception], R] | None = None,
    label: str = "working",
    show_progress: bool = True,
) -> Results[R]:
    """:func:`hatang.results.run_per_host` over routers, each with one opened driver:
    ``refuse(name)`` may stop a router before any connection (its Result then stands);
    ``open_driver(inv, name)`` is opened, ``task(name, driver)`` runs, and the driver is
    closed whatever happens. A router that cannot be opened is ``unreachable(name, exc)``
    when given, else a failed Result saying why."""

    def one(name: str) -> R:
        refused = refuse(name)
        if refused is not None:
            return refused
        driver = open_driver(inv, name)
        try:
            driver.open()
        except Exception as exc:
            if unreachable is None:
                raise
            return unreachable(name, exc)
        try:
            return task(name, driver)
        finally:
            driver.close()

    return run_per_host(devices, one, label=label, show_progress=show_progress)
