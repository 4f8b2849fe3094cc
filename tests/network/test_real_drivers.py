"""hatang's push through napalm's REAL driver classes, against recorded device answers
(not napalm's mock driver, which runs none of a driver's commit logic).

IOS: napalm's IOSDriver over a stand-in netmiko connection that answers each command
from fixtures/sessions/ios (SOURCES.md says where the answers come from) and keeps the
router's state (archive, pending commit); the SCP copy of the candidate is netmiko's
FileTransfer, replaced by one that keeps the file in memory.
EOS: napalm's EOSDriver over a stand-in pyeapi node (fixtures/sessions/eos).
Junos: napalm's JunOSDriver over a stand-in PyEZ device (its Config utility, RPCs and
CLI; fixtures/sessions/junos)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pyeapi.eapilib
from jnpr.junos.exception import ConfigLoadError
from lxml import etree
from napalm.eos import eos as napalm_eos
from napalm.junos import junos as napalm_junos
from napalm.ios import ios as napalm_ios

from hatang.inventory import load
from hatang.inventory.model import Platform
from hatang.network.state import state_reader
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


def real_push(production, device: str, make_driver, router, **kwargs):
    """``hatang.network.push.push`` of ``device`` through the driver ``make_driver(host)``
    builds, its connection being ``router``."""

    def open_driver(inv, name):
        driver = make_driver(str(inv.mgmt(name).ip))
        driver.open = lambda: setattr(driver, "device", router)
        return driver

    return push(production, [device], open_driver=open_driver, skip_checks=OFFLINE, check_timeout_s=0.5, show_progress=False,
                record=False, run_preflight=False, **kwargs)


def ios_push(production, router: IosRouter, **kwargs):
    make = lambda host: napalm_ios.IOSDriver(host, "netadmin", "pw", optional_args={"dest_file_system": "flash:"})  # noqa: E731
    return real_push(production, DEVICE, make, router, **kwargs)


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


def test_ios_rejected_line_restores_the_original(production, fake_secrets, scp) -> None:
    router = IosRouter(reject=True)
    report = ios_push(production, router)
    result = report.results[DEVICE]
    assert report.status(DEVICE) == "failed" and result.error.startswith("not applied: Candidate config could not be applied")
    assert "ip ospf retransmit-interval 1" in result.error and "configure confirm" not in router.sent


@pytest.mark.parametrize(("state", "refusal"), [({"archive": False}, "requires 'archive' feature"), ({"pending": True}, "already in progress")],
                         ids=["archive-not-enabled", "pending-commit-at-start"])
def test_ios_refuses_to_commit_and_configures_nothing(production, fake_secrets, scp, state, refusal) -> None:
    router = IosRouter(**state)
    report = ios_push(production, router)
    assert report.status(DEVICE) == "failed" and refusal in report.results[DEVICE].error
    assert not [c for c in router.sent if c.startswith(("configure replace", "configure confirm", "configure revert"))]


def test_ios_session_lost_after_commit_leaves_the_router_timer(production, fake_secrets, scp, timer_already_run) -> None:
    router = IosRouter(drop_after_commit=True)
    report = ios_push(production, router, revert_in=150)
    error = report.results[DEVICE].error
    # the router's own timer (still pending: never confirmed) is the safety net; the stand-in stays cut off, so
    # the verification after the timer cannot reconnect and says so
    assert report.status(DEVICE) == "unverified" and router.pending and "configure confirm" not in router.sent
    assert report.results[DEVICE].data["final"] == "unknown"
    assert "rollback impossible" in error and "could not be verified" in error and "reverts it by itself within 120 s" in error


class EosRouter:
    """What eAPI (a pyeapi node) answers, and the configuration sessions' state."""

    UPTIME = 86_400.0

    def __init__(self, *, pending: str | None = None, reject: str | None = None, ospf_full: bool = True, drop_after_commit: bool = False):
        self.pending, self.reject, self.ospf_full, self.drop_after_commit = pending, reject, ospf_full, drop_after_commit
        self.dropped = False
        self.sent: list[str] = []
        self.timer: str | None = None

    def sessions(self) -> dict:
        if self.pending is None:
            return {"sessions": {}}
        return {"sessions": {self.pending: {"state": "pendingCommitTimer", "commitBy": self.UPTIME + 100, "description": "", "instances": {}}}}

    def run_commands(self, commands, encoding="json", **_):
        if self.dropped:
            raise pyeapi.eapilib.ConnectionError("eapi", "Socket error during eAPI connection: timed out")
        commands = [c if isinstance(c, str) else c["cmd"] for c in commands]  # a banner goes as {cmd, input}
        self.sent.extend(commands)
        if self.reject and self.reject in commands:
            index = commands.index(self.reject) + 1
            raise pyeapi.eapilib.CommandError(1002, f"CLI command {index} of {len(commands)} '{self.reject}' failed: invalid command", command_error="invalid command", output=[])
        answers = []
        for command in commands:
            if command in ("show configuration sessions", "show configuration sessions detail"):
                answers.append(self.sessions())
            elif command == "show version":
                answers.append({"uptime": self.UPTIME, "modelName": "7280R3", "version": "4.29.2F"})
            elif command == "show ip ospf neighbor":
                table = json.loads((FIXTURES / "eos/not-full/cli.1.show_ip_ospf_neighbor.0").read_text())
                for entry in table["vrfs"]["default"]["instList"]["1"]["ospfNeighborEntries"]:
                    entry["adjacencyState"] = "full" if self.ospf_full else "init"
                answers.append(table)
            elif command.startswith("show session-config named "):
                answers.append({"output": "\n\n" + answer("eos", "show_session-config_diffs.txt")})
            elif " commit timer " in command:
                self.pending, self.timer = command.split()[2], command.split()[-1]
                self.dropped = self.drop_after_commit
                answers.append({"output": ""})
            elif command.startswith("configure session ") and command.endswith((" commit", " abort")):
                if command.split()[2] == self.pending:
                    self.pending = None
                answers.append({"output": ""})
            else:
                answers.append({"output": ""} if encoding == "text" else {})
        return answers


def eos_push(production, router: EosRouter, **kwargs):
    def make(host):
        driver = napalm_eos.EOSDriver(host, "netadmin", "pw", optional_args={"transport": "https"})
        driver.close = lambda: None  # eAPI is HTTP: nothing to close on the stand-in
        return driver

    return real_push(production, "dr-vinh-yen", make, router, **kwargs)


def test_eos_commit_timer_then_confirm(production, fake_secrets) -> None:
    router = EosRouter()
    report = eos_push(production, router, revert_in=150)
    assert report.status("dr-vinh-yen") == "committed", report.results["dr-vinh-yen"].error
    assert router.timer == "00:02:30" and router.pending is None
    session = router.timer and next(c for c in router.sent if c.endswith(" commit timer 00:02:30")).split()[2]
    assert router.sent.index(f"configure session {session} commit") > router.sent.index("show ip ospf neighbor")
    assert "+   description WAN downlink to cpe-lien-bao Ethernet1" in report.results["dr-vinh-yen"].diff


def test_eos_failed_check_aborts_the_session(production, fake_secrets) -> None:
    router = EosRouter(ospf_full=False)
    report = eos_push(production, router)
    assert report.status("dr-vinh-yen") == "rolled-back" and router.pending is None
    assert any(c.endswith(" abort") for c in router.sent) and not any(c.endswith(" commit") for c in router.sent)


def test_eos_rejected_line_is_not_applied(production, fake_secrets) -> None:
    router = EosRouter(reject="ip ospf retransmit-interval 1")
    report = eos_push(production, router)
    error = report.results["dr-vinh-yen"].error
    assert report.status("dr-vinh-yen") == "failed" and error.startswith("not applied:") and "'ip ospf retransmit-interval 1' failed" in error
    assert not any(" commit" in c for c in router.sent)


def test_eos_pending_commit_at_start_is_left_alone(production, fake_secrets) -> None:
    router = EosRouter(pending="napalm_4242")
    report = eos_push(production, router)
    assert report.status("dr-vinh-yen") == "failed" and "Pending commit confirm already in process" in report.results["dr-vinh-yen"].error
    assert router.pending == "napalm_4242" and not any(c.endswith((" commit",)) or " commit timer " in c for c in router.sent)
    loaded = next(c for c in router.sent if c.startswith("configure session ")).split()[2]
    assert f"configure session {loaded} abort" in router.sent  # hatang's candidate discarded, the other left alone


def test_eos_session_lost_after_commit_leaves_the_router_timer(production, fake_secrets, timer_already_run) -> None:
    router = EosRouter(drop_after_commit=True)
    report = eos_push(production, router, revert_in=150)
    error = report.results["dr-vinh-yen"].error
    assert report.status("dr-vinh-yen") == "unverified" and router.pending is not None  # the commit timer still runs
    assert report.results["dr-vinh-yen"].data["final"] == "unknown"
    assert "rollback impossible" in error and "could not be verified" in error and "reverts it by itself within 150 s" in error


class JunosRouter:
    """What PyEZ's Device answers over NETCONF, and the commit state of the router."""

    def __init__(self, uplink: str, *, pending: bool = False, reject: bool = False, ospf_full: bool = True,
                 drop_after_commit: bool = False, drop_in_commit: bool = False):
        self.uplink, self.pending, self.reject, self.ospf_full = uplink, pending, reject, ospf_full
        self.drop_after_commit, self.drop_in_commit = drop_after_commit, drop_in_commit
        self.dropped = False
        self.calls: list[tuple] = []
        self.cu, self.rpc = self, self  # Config utility and RPC proxy answer here too

    def _call(self, *call) -> None:
        if self.dropped:
            raise ConnectionError("NETCONF session closed")
        self.calls.append(call)

    def lock(self):
        self._call("lock")

    def unlock(self):
        self._call("unlock")
        self.dropped = self.drop_after_commit and self.pending

    def load(self, configuration, format, overwrite, ignore_warning):
        self._call("load", format, overwrite)
        if self.reject:
            raise ConfigLoadError(etree.fromstring(answer("junos", "load-error.xml")))

    def diff(self, ignore_warning=False):
        self._call("diff")
        return answer("junos", "diff.txt")

    def commit(self, ignore_warning=False, confirm=None, comment=None):
        self._call("commit", confirm, comment)
        self.pending = confirm is not None
        self.dropped = self.drop_in_commit

    def rollback(self, rb_id, ignore_warning=False):
        self._call("rollback", rb_id)

    def get_commit_revision_information(self, detail=True):
        self._call("get-commit-revision-information")
        return etree.fromstring(answer("junos", "get-commit-revision-information-pending.xml" if self.pending else "get-commit-revision-information.xml"))

    def get_system_uptime_information(self):
        self._call("get-system-uptime-information")
        return etree.fromstring(answer("junos", "get-system-uptime-information.xml"))

    def cli(self, command, warning=False, format="text"):
        self._call("cli", command, format)
        text = (FIXTURES / "state/junos/cli.1.show_ospf_neighbor.0").read_text().replace("irb.1390", f"{self.uplink}.0", 1)
        if not self.ospf_full:
            text = text.replace("<ospf-neighbor-state>Full", "<ospf-neighbor-state>Init", 1)
        return etree.fromstring(text.encode()).find("{*}ospf-neighbor-information")

    def close(self):
        pass


@pytest.fixture
def junos_district(production, monkeypatch):
    """dr-vinh-yen as a Junos router (its uplink then carries Junos's name)."""
    platform = production.platform
    monkeypatch.setattr(production, "platform", lambda device: Platform.junos if (getattr(device, "name", device)) == "dr-vinh-yen" else platform(device))
    return production.uplink("dr-vinh-yen").name


def junos_push(production, router: JunosRouter, **kwargs):
    return real_push(production, "dr-vinh-yen", lambda host: napalm_junos.JunOSDriver(host, "netadmin", "pw"), router, **kwargs)


def test_junos_commit_confirmed_then_confirm(production, fake_secrets, junos_district) -> None:
    router = JunosRouter(junos_district)
    report = junos_push(production, router, revert_in=150)
    assert report.status("dr-vinh-yen") == "committed", report.results["dr-vinh-yen"].error
    commits = [c for c in router.calls if c[0] == "commit"]
    assert commits == [("commit", 2, "hatang net push"), ("commit", None, None)]  # 150 s → confirmed 2 (minutes), then confirm
    assert ("load", "text", True) in router.calls and not router.pending
    assert '+   description "WAN downlink to dr-phuc-yen et-0/0/1";' in report.results["dr-vinh-yen"].diff


def test_junos_failed_check_rolls_back_to_the_previous_commit(production, fake_secrets, junos_district) -> None:
    router = JunosRouter(junos_district, ospf_full=False)
    report = junos_push(production, router)
    assert report.status("dr-vinh-yen") == "rolled-back"
    assert router.calls.index(("rollback", 1)) < len(router.calls) - 1 and router.calls[-1][0] in ("commit", "unlock")


def test_junos_rejected_statement_is_not_applied(production, fake_secrets, junos_district) -> None:
    router = JunosRouter(junos_district, reject=True)
    report = junos_push(production, router)
    error = report.results["dr-vinh-yen"].error
    assert report.status("dr-vinh-yen") == "failed" and error.startswith("not applied:") and "retransmit-intervall" in error
    assert ("rollback", 0) in router.calls and not [c for c in router.calls if c[0] == "commit"]


def test_junos_pending_commit_is_seen_by_preflight(production, junos_district) -> None:
    """Preflight's "no pending commit" asks the driver's has_pending_commit: on Junos,
    napalm's parse of the comment a commit confirmed leaves."""
    driver = napalm_junos.JunOSDriver("10.26.192.6", "netadmin", "pw")
    driver.device = JunosRouter(junos_district, pending=True)
    assert driver.has_pending_commit()  # napalm's own parse of "commit confirmed, rollback in 2mins"
    driver.device.pending = False
    assert not driver.has_pending_commit()


def test_junos_ospf_through_the_real_driver_cli(production, junos_district) -> None:
    driver = napalm_junos.JunOSDriver("10.26.192.6", "netadmin", "pw")
    driver.device = JunosRouter(junos_district)
    found = state_reader(driver, "junos").ospf_neighbors()
    assert [(n["interface"], n["is_full"]) for n in found] == [(junos_district, True), ("irb.1390", True)]


def test_junos_session_lost_after_commit_leaves_the_router_timer(production, fake_secrets, junos_district, timer_already_run) -> None:
    router = JunosRouter(junos_district, drop_after_commit=True)
    report = junos_push(production, router, revert_in=179)
    error = report.results["dr-vinh-yen"].error
    assert report.status("dr-vinh-yen") == "unverified" and router.pending  # commit confirmed never confirmed
    assert report.results["dr-vinh-yen"].data["final"] == "unknown"
    assert "rollback impossible" in error and "could not be verified" in error and "reverts it by itself within 120 s" in error  # 179 s → 2 min on Junos


def test_junos_session_lost_during_commit_says_the_router_may_revert(production, fake_secrets, junos_district) -> None:
    router = JunosRouter(junos_district, drop_in_commit=True)
    report = junos_push(production, router, revert_in=120)
    error = report.results["dr-vinh-yen"].error
    assert report.status("dr-vinh-yen") == "failed" and router.pending
    assert error.startswith("session lost during the commit") and "if dr-vinh-yen took it, it reverts by itself within 120 s" in error
