"""connect.run_per_router: one opened driver per router, always closed, with the
refusals before any connection and the unreachable routers reported as the caller words them."""

from __future__ import annotations

import pytest

from hatang.inventory import load
from hatang.network.connect import run_per_router
from hatang.results import Result


class Driver:
    """A driver that records what was done with it (nothing vendor-specific is exercised)."""

    log: list[str] = []

    def __init__(self, name: str):
        self.name = name

    def open(self) -> None:
        if self.name.startswith("cpe-"):
            raise ConnectionRefusedError(f"{self.name} refused")
        self.log.append(f"open {self.name}")

    def close(self) -> None:
        self.log.append(f"close {self.name}")


DEVICES = ["core-iic", "dr-vinh-yen", "cpe-tich-son", "dr-phuc-yen"]


@pytest.fixture(scope="module")
def inv():
    return load(None, "lab")


def test_each_router_gets_an_opened_driver_closed_after(inv) -> None:
    Driver.log = []

    def task(name: str, driver: Driver) -> Result:
        if name == "dr-phuc-yen":
            raise RuntimeError("the getter failed")
        return Result(name, data={"driver": driver.name})

    results = run_per_router(inv, DEVICES, task, open_driver=lambda _, name: Driver(name), refuse=lambda name: Result(name, ok=False, error="no key") if name == "core-iic" else None,
                             unreachable=lambda name, exc: Result(name, ok=False, error=f"unreachable: {exc}"), show_progress=False)
    assert results["dr-vinh-yen"].ok and results["dr-vinh-yen"].data == {"driver": "dr-vinh-yen"}
    assert (results["core-iic"].error, results["cpe-tich-son"].error) == ("no key", "unreachable: cpe-tich-son refused")
    assert results["dr-phuc-yen"].error == "RuntimeError: the getter failed"
    assert sorted(Driver.log) == ["close dr-phuc-yen", "close dr-vinh-yen", "open dr-phuc-yen", "open dr-vinh-yen"]  # core-iic never opened


def test_without_unreachable_a_refused_connection_is_a_failed_result(inv) -> None:
    results = run_per_router(inv, ["cpe-tich-son"], lambda name, driver: Result(name), open_driver=lambda _, name: Driver(name), show_progress=False)
    assert results["cpe-tich-son"].error == "ConnectionRefusedError: cpe-tich-son refused"
