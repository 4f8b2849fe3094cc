"""Open a napalm driver for an inventory device: platform, address, credentials, host keys.

Credentials come only through :func:`hatang.credentials.secret` (the device's
``credentials`` reference; the lab's admin login from ``lab-admin``). Host keys: in the
lab they are recorded on first contact; elsewhere they must already be known.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

import napalm
from napalm.base import NetworkDriver

from hatang.credentials import secret
from hatang.inventory import model as m
from hatang.inventory.export import NAPALM_DRIVER
from hatang.inventory.inventory import Inventory
from hatang.paths import state_path

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


def driver_for(inv: Inventory, name: str, *, timeout: int = 30, one_login: bool = False) -> NetworkDriver:
    """A napalm driver for ``name``, not yet opened (``one_login``: see :func:`driver_args`)."""
    driver_name, kwargs = driver_args(inv, name, timeout=timeout, one_login=one_login)
    return driver_class(driver_name)(**kwargs)


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
