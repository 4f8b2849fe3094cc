"""``net drift`` (and ``net diff``) on every platform read the running configuration
against the intended one through the state layer (``config_diff``), never from the
driver directly: a spy on each platform's reader fails the test if drift goes around it.

The drivers are the real ones on recorded sessions (not napalm's mock): napalm's
IOSDriver, EOSDriver and JunOSDriver over test_real_drivers' stand-ins
(fixtures/sessions/*/SOURCES.md), hatang's VrpDriver over test_vrp's, hatang's FRR
driver over test_frr_driver's local admin session with its real agent."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from napalm.eos import eos as napalm_eos
from napalm.ios import ios as napalm_ios
from napalm.junos import junos as napalm_junos

from hatang.inventory import load
from hatang.network.diff import compare
from hatang.network.drivers.vrp import VrpDriver
from hatang.network.state import READERS
from tests.network.test_frr_driver import RUNNING, router  # noqa: F401 (a fixture)
from tests.network.test_real_drivers import EosRouter, IosRouter, JunosRouter, junos_district, production, scp  # noqa: F401 (fixtures)
from tests.network.test_vrp import VrpRouter, before, vrp_commune  # noqa: F401 (a fixture)


class DiscardingIosRouter(IosRouter):
    """The IOS stand-in, also answering the empty copy napalm's discard_config makes of
    its merge file (a push never discards on IOS, so test_real_drivers needs none)."""

    def send_command(self, command: str, **kwargs: object) -> str:
        if command.startswith("copy null: "):
            self.sent.append(command)
            return "0 bytes copied in 0.008 secs (0 bytes/sec)"
        return super().send_command(command, **kwargs)


def drift(inv, device: str, make_driver: Callable[[str], object], session: object):
    """``compare`` (what ``net drift`` runs) of ``device`` through ``make_driver(host)``
    with ``session`` as its connection."""
    def open_driver(_inv, name):
        driver = make_driver(str(inv.mgmt(name).ip))
        driver.open = lambda: setattr(driver, "device", session)
        driver.close = lambda: None
        return driver

    [result] = compare(inv, [device], open_driver=open_driver, show_progress=False, label="checking drift")
    return result


def test_ios_drift_is_the_archive_diff_and_nothing_is_committed(production, fake_secrets, scp, layer_reads) -> None:
    router = DiscardingIosRouter()
    result = drift(production, "cpe-tich-son", lambda host: napalm_ios.IOSDriver(host, "netadmin", "pw", optional_args={"dest_file_system": "flash:"}), router)
    assert result.ok and result.changed and layer_reads == ["ios"]
    assert "+description LAN Tich Son 10.26.64.64/26" in result.diff and "-description LAN" in result.diff
    assert any(c.startswith("show archive config differences") for c in router.sent)
    assert not any(c.startswith(("configure replace", "configure confirm")) for c in router.sent) and not router.pending


def test_eos_drift_is_the_session_diff_and_the_session_is_aborted(production, fake_secrets, layer_reads) -> None:
    router = EosRouter()
    result = drift(production, "dr-vinh-yen", lambda host: napalm_eos.EOSDriver(host, "netadmin", "pw", optional_args={"transport": "https"}), router)
    assert result.ok and result.changed and layer_reads == ["eos"]
    assert "+   description WAN downlink to cpe-lien-bao Ethernet1" in result.diff
    session = next(c for c in router.sent if c.startswith("configure session ")).split()[2]
    assert f"configure session {session} abort" in router.sent and not any(" commit" in c for c in router.sent)


def test_junos_drift_is_show_compare_and_the_candidate_is_rolled_back(production, fake_secrets, junos_district, layer_reads) -> None:
    router = JunosRouter(junos_district)
    result = drift(production, "dr-vinh-yen", lambda host: napalm_junos.JunOSDriver(host, "netadmin", "pw"), router)
    assert result.ok and result.changed and layer_reads == ["junos"]
    assert '+   description "WAN downlink to dr-phuc-yen et-0/0/1";' in result.diff
    assert ("rollback", 0) in router.calls and not [c for c in router.calls if c[0] == "commit"]


def test_vrp_drift_reads_the_running_configuration_and_loads_no_candidate(production, fake_secrets, vrp_commune, layer_reads) -> None:
    router = VrpRouter(before(production))
    result = drift(production, "cpe-tich-son", lambda host: VrpDriver(host, "netadmin", "pw"), router)
    assert result.ok and result.changed and layer_reads == ["huawei_vrp"]
    assert "description WAN uplink to dr-vinh-yen Ethernet3 (Vinh Yen region, 100 Mb/s fibre)" in result.diff
    assert router.sent == ["display current-configuration"], "read only: the running configuration, nothing else"


def test_vrp_in_sync_is_no_drift(production, fake_secrets, vrp_commune, layer_reads) -> None:
    from hatang.network.render import Renderer

    router = VrpRouter(Renderer(production).render("cpe-tich-son").text)
    result = drift(production, "cpe-tich-son", lambda host: VrpDriver(host, "netadmin", "pw"), router)
    assert result.ok and not result.changed and result.diff == "" and layer_reads == ["huawei_vrp"]


def test_frr_drift_is_the_agents_diff(router, fake_secrets, layer_reads, monkeypatch) -> None:  # noqa: F811 (the fixture)
    """The stand-in router takes a short configuration: the render is replaced by it."""
    from hatang.network import diff as diff_module

    driver, _, _ = router
    monkeypatch.setattr(driver, "open", lambda: None)
    monkeypatch.setattr(driver, "close", lambda: None)  # one agent session for both runs; the fixture closes it
    lab = load(env="lab")

    def frr_drift(intended: str):
        monkeypatch.setattr(diff_module, "Renderer", lambda inv: SimpleNamespace(render=lambda name: SimpleNamespace(text=intended)))
        [result] = compare(lab, ["cpe-tich-son"], open_driver=lambda inv, name: driver, show_progress=False)
        return result

    result = frr_drift(RUNNING.replace("exit\n!\nend", " description uplink\nexit\n!\nend"))
    assert result.ok and result.changed and layer_reads == ["frr"]
    assert result.diff == " interface eth0\n+ description uplink"
    in_sync = frr_drift(RUNNING)
    assert in_sync.ok and not in_sync.changed and layer_reads == ["frr", "frr"]


def test_drift_and_diff_are_rows_of_the_platform_matrix() -> None:
    from hatang.network.state.matrix import render

    text = render()
    section = text[text.index("## Drift and diff"):text.index("## Preflight")]
    for platform in READERS:
        assert platform in section.splitlines()[2]
    assert "| `drift` | yes: hatang's FRR agent" in section and "show \\| compare" in section
