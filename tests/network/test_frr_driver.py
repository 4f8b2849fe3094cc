"""The FRR driver's SSH use and its agent, without the lab: a fake admin session records
every exec; the agent's ``detach`` runs for real in a temporary directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from napalm.base.exceptions import CommitError, ReplaceConfigException

from hatang.network.drivers import frr
from hatang.network.drivers.ssh import CommandResult

RELOAD_TEST_OUTPUT = "\nLines To Delete\n===============\n\nLines To Add\n============\ninterface eth0\n description uplink\n"


class FakeSession:
    """Answers every exec with ``status`` and ``stdout``; keeps (command, stdin)."""

    def __init__(self, status: int = 0, stdout: str = "") -> None:
        self.status, self.stdout = status, stdout
        self.execs: list[tuple[str, str | None]] = []

    def run(self, command: str, *, stdin: str | None = None, timeout: float | None = None) -> CommandResult:
        self.execs.append((command, stdin))
        return CommandResult(self.status, self.stdout, "")


def driver_with(session: FakeSession) -> frr.FRRDriver:
    driver = frr.FRRDriver("198.18.0.9", "net", "pw", optional_args={"admin_username": "adm", "admin_password": "pw"})
    driver._admin_session = session  # type: ignore[assignment]
    return driver


def test_load_and_compare_is_one_exec_that_installs_the_agent_and_keeps_the_deltas() -> None:
    session = FakeSession(stdout=RELOAD_TEST_OUTPUT)
    driver = driver_with(session)
    driver.load_replace_candidate(config="hostname r\n")
    diff = driver.compare_config()
    assert len(session.execs) == 1
    command, stdin = session.execs[0]
    assert "agent.sh.new" in command and command.rstrip().endswith("prepare candidate.conf") and stdin == "hostname r\n"
    assert "+ description uplink" in diff
    driver.load_replace_candidate(config="hostname r\n")  # the agent is installed once per session
    assert "agent.sh.new" not in session.execs[1][0]
    driver.discard_config()
    assert driver.compare_config() == ""


def test_a_rejected_candidate_names_the_device_output() -> None:
    driver = driver_with(FakeSession(status=frr.REJECTED, stdout="line 3: % Unknown command: ip adress 10.0.0.1/31"))
    with pytest.raises(ReplaceConfigException, match="ip adress"):
        driver.load_replace_candidate(config="interface eth0\n ip adress 10.0.0.1/31\n")
    assert driver.compare_config() == ""
    with pytest.raises(CommitError, match="no candidate"):
        driver.commit_config()


def test_an_agent_that_cannot_be_installed_is_a_clear_error() -> None:
    driver = driver_with(FakeSession(status=frr.AGENT_NOT_INSTALLED, stdout="mkdir: Permission denied"))
    with pytest.raises(CommitError, match="cannot install the commit agent.*Permission denied"):
        driver.has_pending_commit()


@pytest.mark.parametrize(("pending", "status"), [(True, 0), (False, 1)])
def test_detach_waits_for_the_job_and_returns_its_status(tmp_path: Path, pending: bool, status: int) -> None:
    (tmp_path / "agent.sh").write_text(frr.AGENT)
    if pending:
        (tmp_path / "pending").write_text("1\n")
    proc = subprocess.run(["sh", str(tmp_path / "agent.sh"), str(tmp_path), "r1", "-", "detach", "job1", "pending"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == status, proc.stdout + proc.stderr
    assert not list(tmp_path.glob("job1.*")), "a job read back leaves no files behind"
