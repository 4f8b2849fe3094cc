"""Huawei VRP, the fifth production platform: golden renders of the commune and
district roles, and hatang's push through its VrpDriver (napalm-huawei-vrp underneath)
against a router stand-in answering VRP's recorded prompts and messages
(fixtures/sessions/huawei_vrp/SOURCES.md): the merge guarded by a scheduled reboot,
confirmed, rolled back, refused, pending, or cut off."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hatang.errors import HatangError
from hatang.inventory import load
from hatang.inventory.model import Platform
from hatang.network import prerequisites
from hatang.network.drivers.vrp import ROLLBACK_FILE, VrpDriver
from hatang.network.lint import lint
from hatang.network.push import push
from hatang.network.render import Renderer
from hatang.network.revert_time import revert_seconds
from hatang.paths import DEFAULT_INVENTORY as INVENTORY

GOLDEN = Path(__file__).parent / "golden"
SESSION = Path(__file__).parent / "fixtures" / "sessions" / "huawei_vrp"
PEERS = Path(__file__).parent / "fixtures" / "state" / "huawei_vrp" / "display_ospf_peer_brief.txt"
ROLES = {"commune_cpe": "cpe-tich-son", "district": "dr-vinh-yen"}
OFFLINE = ("management", "loopback", "snmp")
DEVICE = "cpe-tich-son"


@pytest.fixture(scope="module")
def production():
    return load(env="production")


@pytest.fixture
def vrp_commune(production, monkeypatch):
    """cpe-tich-son as a Huawei AR router."""
    platform = production.platform
    monkeypatch.setattr(production, "platform", lambda device: Platform.huawei_vrp if getattr(device, "name", device) == DEVICE else platform(device))


@pytest.mark.parametrize("role", ROLES)
def test_vrp_render_is_clean(production, fake_secrets, role) -> None:
    """The golden comparison is test_render's; here: lint, no clear-text password, the driver's prerequisites."""
    rendered = Renderer(production).render(ROLES[role], Platform.huawei_vrp)
    assert lint("huawei_vrp", rendered.text) == []
    assert "golden-admin-password" not in rendered.text and "golden-readonly-password" not in rendered.text
    assert prerequisites.missing("huawei_vrp", rendered.text) == []


def test_the_inventory_can_mark_a_router_huawei_vrp(fake_secrets, tmp_path) -> None:
    shutil.copytree(INVENTORY, tmp_path / "inventory")
    network = tmp_path / "inventory" / "network.yaml"
    text = network.read_text(encoding="utf-8")
    marked = text.replace("- name: cpe-tich-son\n  site: tich-son\n  role: commune_cpe\n  platform: ios\n  model: ISR1111-4P",
                          "- name: cpe-tich-son\n  site: tich-son\n  role: commune_cpe\n  platform: huawei_vrp\n  model: AR651")
    assert marked != text
    network.write_text(marked, encoding="utf-8")
    inv = load(tmp_path / "inventory", "production")
    assert inv.platform("cpe-tich-son") == Platform.huawei_vrp and inv.uplink("cpe-tich-son").name == "GigabitEthernet0/0/0"
    renderer = Renderer(inv)
    assert renderer.render("cpe-tich-son").text.startswith("#\nsysname cpe-tich-son\n")
    assert "description WAN downlink to cpe-tich-son GigabitEthernet0/0/0 " in renderer.render("dr-vinh-yen").text
    assert load(tmp_path / "inventory", "lab").platform("cpe-tich-son") == Platform.frr


def test_a_vrp_core_is_a_clear_error(production, fake_secrets) -> None:
    with pytest.raises(HatangError, match="no template templates/huawei_vrp/core.j2"):
        Renderer(production).render("core-iic", Platform.huawei_vrp)


def vrp_answer(name: str) -> str:
    return (SESSION / name).read_text()


class VrpRouter:
    """What a netmiko connection to a VRP router answers, and its state: running and
    saved configurations, the scheduled reboot."""

    def __init__(self, running: str, *, scheduled: bool = False, reject: str | None = None, ospf_full: bool = True, drop_after_commit: bool = False):
        self.running, self.saved = running, {"startup": running}
        self.scheduled, self.reject, self.ospf_full, self.drop_after_commit = scheduled, reject, ospf_full, drop_after_commit
        self.config_mode = self.dropped = False
        self.asked: str | None = None
        self.sent: list[str] = []

    def send_command(self, command: str, expect_string: str | None = None, **_: object) -> str:
        if self.dropped:
            raise OSError("Socket is closed")
        self.sent.append(command)
        if self.asked is not None:
            return self._answer_yes(command)
        if command.startswith("save"):
            self.asked = command
            return vrp_answer("save.txt")
        if command.startswith("schedule reboot delay "):
            self.asked = command
            return vrp_answer("schedule_reboot_delay.txt")
        if command.startswith("rollback configuration to file "):
            self.asked = command
            return vrp_answer("rollback_configuration.txt")
        if command == "display schedule reboot":
            return vrp_answer("display_schedule_reboot_pending.txt" if self.scheduled else "display_schedule_reboot.txt")
        if command == "undo schedule reboot":
            self.scheduled = False
            return ""
        if command == "display current-configuration":
            return self.running
        if command == "display ospf peer brief":
            text = PEERS.read_text().replace("GigabitEthernet0/0/1 ", "GigabitEthernet0/0/9 ")
            return text if self.ospf_full else text.replace("Full", "Init", 1)
        if command == "system-view":
            self.config_mode = True
            return vrp_answer("system-view.txt")
        if command == "return":
            self.config_mode = False
            self.dropped = self.drop_after_commit
            return ""
        if self.config_mode:
            if command == self.reject:
                return vrp_answer("unrecognized.txt")
            if command != "commit" and command not in self.running.splitlines():
                self.running += command + "\n"
            return ""
        raise AssertionError(f"the recorded session has no answer to '{command}'")

    def _answer_yes(self, command: str) -> str:
        asked, self.asked = self.asked, None
        assert command == "y", f"'{asked}' was answered '{command}'"
        if asked.startswith("save"):
            self.saved[asked.split()[-1] if asked.strip() != "save" else "startup"] = self.running
            return vrp_answer("save_y.txt")
        if asked.startswith("schedule"):
            self.scheduled = True
            return ""
        self.running = self.saved[asked.split()[-1]]
        return vrp_answer("rollback_configuration_y.txt")

    def check_config_mode(self) -> bool:
        return self.config_mode

    def disconnect(self) -> None:
        pass


def before(production, fake_secrets_values=None) -> str:
    """The router's running configuration: hatang's render with an older uplink description."""
    text = (GOLDEN / "huawei_vrp-commune_cpe.cfg").read_text()
    return text.replace("description WAN uplink to dr-vinh-yen", "description WAN uplink (old)")


def vrp_push(production, router: VrpRouter, **kwargs):
    def open_driver(inv, name):
        driver = VrpDriver(str(inv.mgmt(name).ip), "netadmin", "pw")
        driver.open = lambda: setattr(driver, "device", router)
        return driver

    return push(production, [DEVICE], open_driver=open_driver, skip_checks=OFFLINE, check_timeout_s=0.5, show_progress=False,
                record=False, run_preflight=False, **kwargs)


def applied(router: VrpRouter) -> list[str]:
    start = router.sent.index("system-view")
    return router.sent[start + 1 : router.sent.index("return", start)]


def test_vrp_push_merges_under_a_scheduled_reboot_then_confirms(production, fake_secrets, vrp_commune) -> None:
    router = VrpRouter(before(production))
    report = vrp_push(production, router, revert_in=150)
    result = report.results[DEVICE]
    assert report.status(DEVICE) == "committed", result.error
    assert "description WAN uplink to dr-vinh-yen Ethernet3 (Vinh Yen region, 100 Mb/s fibre)" in result.diff
    order = [c.strip() for c in router.sent if c.strip() in ("save", f"save flash:/{ROLLBACK_FILE}", "schedule reboot delay 00:02", "system-view", "undo schedule reboot")]
    assert order == ["save", f"save flash:/{ROLLBACK_FILE}", "schedule reboot delay 00:02", "system-view", "undo schedule reboot", "save"]
    assert "#" not in applied(router) and not router.scheduled
    assert "description WAN uplink to dr-vinh-yen Ethernet3 (Vinh Yen region, 100 Mb/s fibre)" in router.saved["startup"]


def test_vrp_failed_check_rolls_back_to_the_saved_file(production, fake_secrets, vrp_commune) -> None:
    router = VrpRouter(before(production), ospf_full=False)
    report = vrp_push(production, router)
    assert report.status(DEVICE) == "rolled-back"
    assert f"rollback configuration to file flash:/{ROLLBACK_FILE}" in router.sent and not router.scheduled
    assert router.running == before(production) and router.saved["startup"] == before(production)


def test_vrp_refused_line_is_rolled_back(production, fake_secrets, vrp_commune) -> None:
    line = " ospf timer retransmit 1"
    router = VrpRouter(before(production).replace(line + "\n", ""), reject=line)
    report = vrp_push(production, router)
    assert report.status(DEVICE) == "failed" and "not applied" in report.results[DEVICE].error
    assert f"rollback configuration to file flash:/{ROLLBACK_FILE}" in router.sent and not router.scheduled


def test_vrp_scheduled_reboot_at_start_is_a_pending_push(production, fake_secrets, vrp_commune) -> None:
    router = VrpRouter(before(production), scheduled=True)
    report = vrp_push(production, router)
    assert report.status(DEVICE) == "failed" and "a reboot is already scheduled" in report.results[DEVICE].error
    assert "system-view" not in router.sent and router.scheduled


def test_vrp_session_lost_after_commit_leaves_the_reboot_scheduled(production, fake_secrets, vrp_commune, timer_already_run) -> None:
    router = VrpRouter(before(production), drop_after_commit=True)
    report = vrp_push(production, router, revert_in=150)
    error = report.results[DEVICE].error
    # the scheduled reboot onto the saved (previous) configuration is the safety net; the stand-in stays cut
    # off, so the verification after the timer cannot reconnect and says so
    assert report.status(DEVICE) == "unverified" and router.scheduled and router.saved["startup"] == before(production)
    assert report.results[DEVICE].data["final"] == "unknown"
    assert "rollback impossible" in error and "could not be verified" in error and "reverts it by itself within 120 s" in error


def test_vrp_revert_in_counts_whole_minutes() -> None:
    assert revert_seconds("huawei_vrp", 150) == 120
    with pytest.raises(HatangError, match="--revert-in 15: huawei_vrp reverts after 60"):
        revert_seconds("huawei_vrp", 15)


class PreflightVrpRouter(VrpRouter):
    """The VRP stand-in, also answering what preflight reads: ``display version`` and
    ``dir`` (fixtures/state/SOURCES.md, fixtures/preflight/SOURCES.md)."""

    def send_command(self, command: str, expect_string: str | None = None, **kwargs: object) -> str:
        if command == "display version":
            return (PEERS.parent / "display_version.txt").read_text()
        if command == "dir":
            return (Path(__file__).parent / "fixtures" / "preflight" / "vrp" / "dir.txt").read_text()
        return super().send_command(command, expect_string, **kwargs)


@pytest.mark.parametrize(("os_version", "ok"), [("V300R019C13", True), ("V300R022C00", False)])
def test_vrp_preflight_reads_model_version_and_flash(production, fake_secrets, vrp_commune, monkeypatch, os_version, ok) -> None:
    """An AR router ready for hatang: its model and version from ``display version``
    (napalm-huawei-vrp's get_facts reads Unknown there), 801,664 KB of flash free."""
    from hatang.network.preflight import check, failed

    record = production.device(DEVICE).model_copy(update={"platform": Platform.huawei_vrp, "model": "AR617VW-LTE4EA", "os_version": os_version})
    monkeypatch.setitem(production.device_by_name, DEVICE, record)
    candidate = Renderer(production).render(DEVICE).text
    driver = VrpDriver(str(production.mgmt(DEVICE).ip), "netadmin", "pw")
    driver.device = PreflightVrpRouter(before(production))
    items = {i.name: i for i in check(production, DEVICE, driver, candidate)}
    assert [i.name for i in failed(items.values())] == ([] if ok else ["software version"]), [i.detail for i in failed(items.values())]
    assert items["platform"].detail == "Huawei AR617VW-LTE4EA V300R019C13SPC200"
    assert items["free flash"].detail.startswith(f"{801_664 * 1024} bytes free")
    assert "system-view" not in driver.device.sent  # read only
