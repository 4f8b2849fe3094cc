"""The FRR driver and its agent's session, without the lab: the driver's admin login is
a local shell (sh, HOME a temporary directory) and vtysh a stand-in that speaks like
the real one on stdin (prompt, echo, "% Unknown command"), so the real agent runs and
the real request protocol is exercised."""

from __future__ import annotations

import os
import select
import subprocess
from pathlib import Path

import pytest
from napalm.base.exceptions import CommandErrorException, CommitError, ConnectionClosedException, ReplaceConfigException

from hatang.network.drivers import frr
from hatang.network.drivers.ssh import CommandResult

RUNNING = "!\nfrr version 8.4.4\nhostname r1\n!\ninterface eth0\n ip address 198.18.4.3/31\nexit\n!\nend\n"
# vtysh -N r1 [-m -f FILE | -c COMMAND]; without either, a session on stdin. Each start
# is logged, to count them. A file is read by the real vtysh -m (it needs no daemon).
FAKE_VTYSH = """#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_DIR/vtysh.log"
if [ "$3" = -m ]; then
    if grep -q adress "$5"; then echo "line 2: % Unknown command: ip adress 198.18.4.3/31" >&2; exit 2; fi
    exec /usr/bin/vtysh -m -f "$5"
fi
answer() {
    case "$1" in
    "show running-config") printf 'Building configuration...\\n\\nCurrent configuration:\\n'; cat "$FAKE_DIR/running" ;;
    "show version") echo "FRRouting 8.4.4 (r1)." ;;
    *) echo "% Unknown command: $1" ;;
    esac
}
if [ "$3" = -c ]; then answer "$4"; exit; fi
printf '\\nHello, this is FRRouting (version 8.4.4).\\n\\n'
while printf 'r1# ' && IFS= read -r line; do
    printf '%s\\n' "$line"
    answer "$line"
done
"""


class LocalProcess:
    """:class:`hatang.network.drivers.ssh.RemoteProcess`, on this machine."""

    def __init__(self, command: str, env: dict[str, str]):
        self.proc = subprocess.Popen(["sh", "-c", command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)  # as sshd starts a session's shell

    def send(self, data: bytes) -> None:
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except BrokenPipeError:  # it has ended: recv tells
            pass

    def recv(self, timeout: float) -> bytes:
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            raise ConnectionClosedException(f"no answer within {timeout:g} s")
        return os.read(self.proc.stdout.fileno(), 65536)

    def exit_status(self) -> int:
        return self.proc.wait(timeout=10)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except BrokenPipeError:  # it has ended already
            pass


class LocalSession:
    """The admin login as a local shell; keeps every command it started or ran."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.started: list[LocalProcess] = []
        self.ran: list[str] = []

    def start(self, command: str) -> LocalProcess:
        self.started.append(LocalProcess(command, self.env))
        return self.started[-1]

    def run(self, command: str, *, stdin: str | None = None, timeout: float | None = None) -> CommandResult:
        self.ran.append(command)
        proc = subprocess.run(["sh", "-c", command], input=stdin, capture_output=True, text=True, env=self.env, timeout=30)
        return CommandResult(proc.returncode, proc.stdout, proc.stderr)

    def close(self) -> None:
        for process in self.started:
            if process.proc.poll() is None:
                process.close()
                process.proc.wait(timeout=10)


@pytest.fixture
def router(tmp_path: Path):
    """(driver, its local admin session, the fake's directory): a driver whose admin
    login runs on this machine with the stand-in vtysh first on PATH."""
    fake = tmp_path / "fake"
    (fake / "bin").mkdir(parents=True)
    (fake / "bin" / "vtysh").write_text(FAKE_VTYSH)
    (fake / "bin" / "vtysh").chmod(0o755)
    (fake / "running").write_text(RUNNING)
    (tmp_path / "home").mkdir()
    env = {**os.environ, "PATH": f"{fake / 'bin'}:{os.environ['PATH']}", "HOME": str(tmp_path / "home"), "FAKE_DIR": str(fake)}
    session = LocalSession(env)
    driver = frr.FRRDriver("198.18.0.9", "net", "pw", optional_args={"admin_username": "adm", "admin_password": "pw", "vtysh_via": "admin", "pathspace": "r1"})
    driver._admin_session = session  # type: ignore[assignment]
    yield driver, session, fake
    driver.close()


def vtysh_starts(fake: Path) -> list[str]:
    log = fake / "vtysh.log"
    return log.read_text().splitlines() if log.exists() else []


def test_one_agent_and_one_vtysh_serve_the_whole_session(router) -> None:
    driver, session, fake = router
    candidate = RUNNING.replace("exit\n!\nend", " description uplink\nexit\n!\nend")
    driver.load_replace_candidate(config=candidate)
    assert driver.compare_config() == " interface eth0\n+ description uplink"
    assert driver.get_config()["running"] == RUNNING
    assert driver.cli(["show version"]) == {"show version": "FRRouting 8.4.4 (r1).\n"}
    driver.load_replace_candidate(config=RUNNING)  # the router runs it already
    assert driver.compare_config() == ""
    assert not driver.has_pending_commit()
    assert len(session.started) == 1 and not session.ran, "one exec for the whole session"
    workdir = Path(session.env["HOME"]) / ".hatang-frr/r1"
    assert (workdir / "frr_agent.py").read_text() == frr.AGENT
    read = f"-N r1 -m -f {workdir}/candidate-{driver._agent_token}.conf.apply"
    assert vtysh_starts(fake) == ["-N r1", read, read], "one vtysh for the session, one read (and syntax check) per candidate"
    assert list(workdir.glob("candidate-*"))
    driver.close()
    session.started[0].proc.wait(timeout=10)
    assert not list(workdir.glob("candidate-*")), "the session's files end with it"


def test_a_command_vtysh_refuses_is_an_error_and_the_session_goes_on(router) -> None:
    driver, session, _ = router
    with pytest.raises(CommandErrorException, match="show foo.*Unknown command"):
        driver.cli(["show foo"])
    assert driver.cli(["show version"])["show version"].startswith("FRRouting")
    with pytest.raises(CommandErrorException, match="one line"):
        driver.cli(["show version\nshow foo"])
    assert len(session.started) == 1


def test_a_rejected_candidate_names_the_device_output(router) -> None:
    driver, _, _ = router
    with pytest.raises(ReplaceConfigException, match="198.18.0.9: the device rejects the candidate.*ip adress"):
        driver.load_replace_candidate(config=RUNNING.replace("ip address", "ip adress"))
    assert driver.compare_config() == ""
    with pytest.raises(CommitError, match="no candidate"):
        driver.commit_config()


def test_pending_reads_the_agent_directory(router) -> None:
    driver, session, _ = router
    assert not driver.has_pending_commit()
    (Path(session.env["HOME"]) / ".hatang-frr/r1/pending").write_text("1\n")
    assert driver.has_pending_commit()


def test_the_agent_ends_with_the_session_and_a_lost_agent_is_replaced(router) -> None:
    driver, session, _ = router
    assert not driver.has_pending_commit()
    subprocess.run(["pkill", "-KILL", "-P", str(session.started[0].proc.pid)], check=True)  # the agent, under setsid -w
    with pytest.raises(ConnectionClosedException, match="the commit agent ended"):
        driver.has_pending_commit()
    assert not driver.has_pending_commit(), "the next request starts another agent"
    assert len(session.started) == 2
    driver.close()
    assert session.started[1].proc.wait(timeout=10) == 0, "closing the session ends its agent"


def test_an_agent_that_cannot_be_installed_is_a_clear_error(router) -> None:
    driver, session, _ = router
    home = Path(session.env["HOME"])
    home.rmdir()
    home.write_text("not a directory\n")
    with pytest.raises(CommitError, match="cannot install the commit agent in ~adm/.hatang-frr/r1"):
        driver.has_pending_commit()


def test_a_router_without_python3_is_a_clear_error(router) -> None:
    driver, _, fake = router
    (fake / "bin" / "python3").write_text("#!/bin/sh\necho 'sh: 1: exec: python3: not found'\nexit 127\n")
    (fake / "bin" / "python3").chmod(0o755)
    with pytest.raises(CommitError, match="198.18.0.9: the commit agent cannot run .*needs python3.*python3: not found"):
        driver.load_replace_candidate(config=RUNNING)
