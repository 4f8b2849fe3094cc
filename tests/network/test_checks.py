"""Post-check plumbing without the lab: the core probe's connection handling."""

from __future__ import annotations

from napalm.base.exceptions import ConnectionClosedException

from hatang.network.checks import DEFAULT_PING_WAIT_S, CoreProbe


class FakeCore:
    """A core whose connection dies after ``lives`` pings."""

    def __init__(self, lives: int) -> None:
        self.lives, self.pings, self.closed = lives, [], False

    def is_alive(self) -> dict[str, bool]:
        return {"is_alive": self.lives > 0}

    def ping(self, destination: str, *, source: str, count: int, timeout: float) -> dict:
        if self.lives <= 0:
            raise ConnectionClosedException("connection is closed")
        self.lives -= 1
        self.pings.append((destination, timeout))
        return {"success": {"packet_loss": 0}}

    def close(self) -> None:
        self.closed = True


def test_the_core_probe_opens_a_new_connection_when_the_old_one_dropped() -> None:
    opened: list[FakeCore] = []

    def open_core() -> FakeCore:
        opened.append(FakeCore(lives=2))
        return opened[-1]

    probe = CoreProbe(open_core, "junos")
    assert [probe.reaches(f"198.18.0.{i}", "198.18.0.1") for i in range(5)] == [True] * 5
    assert len(opened) == 3 and opened[0].closed and opened[1].closed and not opened[2].closed
    assert {timeout for core in opened for _, timeout in core.pings} == {DEFAULT_PING_WAIT_S}
    probe.close()
    assert opened[2].closed


def test_the_core_probe_waits_a_fraction_of_a_second_on_frr() -> None:
    core = FakeCore(lives=1)
    probe = CoreProbe(lambda: core, "frr")
    assert probe.reaches("198.18.0.3", "198.18.0.1")
    assert core.pings == [("198.18.0.3", 0.2)]
