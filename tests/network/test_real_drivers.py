"""hatang's push through napalm's REAL driver classes, against recorded device answers
(not napalm's mock driver, which runs none of a driver's commit logic).

IOS: napalm's IOSDriver over a stand-in netmiko connection that answers each command
from fixtures/sessions/ios (SOURCES.md says where the answers come from) and keeps the
router's state (archive, pending commit); the SCP copy of the candidate is netmiko's
FileTransfer, replaced by one that keeps the file in memory."""

from __future__ import annotations

from pathlib import Path

import pytest
from napalm.ios import ios as napalm_ios

from hatang.inventory import load
from hatang.network.push import push

SESSIONS = Path(__file__).parent / "fixtures" / "sessions"
FIXTURES = Path(__file__).parent / "fixtures"
OFFLINE = ("management", "loopback", "snmp")
DEVICE = "cpe-tich-son"


def answer(platform: str, name: str) -> str:
    return (SESSIONS / platform / name).read_text()


class IosRouter:
    """What a netmiko connection to an IOS router answers, and the router's state."""

    def __init__(self, *, archive: bool = True, scp: bool = True, pending: bool = False, reject: bool = False,
                 ospf_full: bool = True, drop_after_commit: bool = False):
        self.archive, self.scp, self.pending, self.reject = archive, scp, pending, reject
        self.ospf_full, self.drop_after_commit = ospf_full, drop_after_commit
        self.dropped = False
        self.sent: list[str] = []
        self.files: dict[str, str] = {}

    def send_command(self, command: str, **_: object) -> str:
        if self.dropped:
            raise OSError("Socket is closed")
        self.sent.append(command)
        if command == "show archive":
            return answer("ios", "show_archive.txt" if self.archive else "show_archive_disabled.txt")
        if command == "show archive config rollback timer":
            return answer("ios", "show_archive_config_rollback_timer_pending.txt" if self.pending else "show_archive_config_rollback_timer.txt")
        if command == "show running-config | inc ip scp server enable":
            return "ip scp server enable\n" if self.scp else ""
        if command.startswith("dir "):
            name = command.split("/")[-1]
            return f"Directory of {command[4:]}\n\n   33  -rw-        5592  Dec 5 2026 06:10:22 +00:00  {name}\n"
        if command.startswith("copy running-config "):
            return "5592 bytes copied in 0.412 secs"
        if command.startswith("show archive config differences"):
            return answer("ios", "show_archive_config_differences.txt")
        if command.startswith("configure replace "):
            if self.reject:
                return answer("ios", "configure_replace_rejected.txt")
            self.pending = " timer " in command
            self.dropped = self.drop_after_commit
            return answer("ios", "configure_replace_ok.txt")
        if command == "configure confirm":
            self.pending = False
            return ""
        if command == "configure revert now":
            self.pending = False
            return answer("ios", "configure_revert_now.txt")
        if command == "show ip ospf neighbor":
            table = (FIXTURES / "ios/commit-ok/cli.1.show_ip_ospf_neighbor.0").read_text()
            return table if self.ospf_full else table.replace("FULL/  -", "INIT/  -")
        raise AssertionError(f"the recorded session has no answer to '{command}'")

    def send_config_set(self, commands: list[str], **_: object) -> str:
        if self.dropped:
            raise OSError("Socket is closed")
        self.sent.extend(commands)
        return ""

    def send_command_timing(self, command: str, **_: object) -> str:
        return self.send_command(command)

    def find_prompt(self) -> str:
        return f"{DEVICE}#"

    def set_base_prompt(self) -> str:
        return DEVICE

    def save_config(self) -> str:
        if self.dropped:
            raise OSError("Socket is closed")
        self.sent.append("write memory")
        return "[OK]"

    def disconnect(self) -> None:
        pass


@pytest.fixture
def scp(monkeypatch):
    """netmiko's FileTransfer (SCP), keeping the copied candidate in the router's files."""

    class Transfer:
        def __init__(self, ssh_conn, source_file, dest_file, direction, file_system, **_):
            self.router, self.source, self.dest = ssh_conn, source_file, dest_file

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def check_file_exists(self):
            return False

        def verify_space_available(self):
            return True

        def transfer_file(self):
            self.router.files[self.dest] = Path(self.source).read_text()

        def verify_file(self):
            return self.dest in self.router.files

    monkeypatch.setattr(napalm_ios, "FileTransfer", Transfer)


@pytest.fixture(scope="module")
def production():
    return load(env="production")


def ios_push(production, router: IosRouter, **kwargs):
    def open_driver(inv, name):
        driver = napalm_ios.IOSDriver(str(inv.mgmt(name).ip), "netadmin", "pw", optional_args={"dest_file_system": "flash:"})
        driver.open = lambda: setattr(driver, "device", router)
        return driver

    return push(production, [DEVICE], open_driver=open_driver, skip_checks=OFFLINE, check_timeout_s=0.5, show_progress=False,
                record=False, run_preflight=False, **kwargs)


def test_ios_commit_with_revert_then_confirm(production, fake_secrets, scp) -> None:
    router = IosRouter()
    report = ios_push(production, router, revert_in=150)
    assert report.status(DEVICE) == "committed", report.results[DEVICE].error
    assert "configure replace flash:/candidate_config.txt force revert trigger error timer 2" in router.sent  # 150 s → 2 min
    assert router.sent.index("configure confirm") > router.sent.index("show ip ospf neighbor")
    assert "hostname cpe-tich-son" in router.files["candidate_config.txt"] and not router.pending


def test_ios_failed_check_rolls_back(production, fake_secrets, scp) -> None:
    router = IosRouter(ospf_full=False)
    report = ios_push(production, router)
    assert report.status(DEVICE) == "rolled-back"
    assert "configure revert now" in router.sent and "configure confirm" not in router.sent and not router.pending


def test_ios_without_archive_commits_nothing(production, fake_secrets, scp) -> None:
    router = IosRouter(archive=False)
    report = ios_push(production, router)
    assert report.status(DEVICE) == "failed" and "requires 'archive' feature" in report.results[DEVICE].error
    assert not [c for c in router.sent if c.startswith("configure replace")]


def test_ios_rejected_line_restores_the_original(production, fake_secrets, scp) -> None:
    router = IosRouter(reject=True)
    report = ios_push(production, router)
    result = report.results[DEVICE]
    assert report.status(DEVICE) == "failed" and result.error.startswith("not applied: Candidate config could not be applied")
    assert "ip ospf retransmit-interval 1" in result.error and "configure confirm" not in router.sent


def test_ios_pending_commit_at_start_is_left_alone(production, fake_secrets, scp) -> None:
    router = IosRouter(pending=True)
    report = ios_push(production, router)
    assert report.status(DEVICE) == "failed" and "already in progress" in report.results[DEVICE].error
    assert not [c for c in router.sent if c.startswith("configure ")]


def test_ios_session_lost_after_commit_leaves_the_router_timer(production, fake_secrets, scp) -> None:
    router = IosRouter(drop_after_commit=True)
    report = ios_push(production, router, revert_in=150)
    error = report.results[DEVICE].error
    assert report.status(DEVICE) == "failed" and router.pending  # the router's own timer will revert
    assert "rollback failed" in error and "reverts by itself within 120 s" in error
