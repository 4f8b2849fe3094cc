"""The agent's one vtysh on pipes, against a stand-in that answers as vtysh 8.4 does
(prompt, echo of each line, "% Unknown command: …") and, as a starved vtysh did on the
merged lab, logs a STARVATION line of its own into the stream, after a prompt: the
marker's answer still ends each command, the log lines never reach a command's output,
and an apply whose vtysh stops answering is undone."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from hatang.network.drivers import frr_agent

#: As recorded on dr-hoa-binh (FRR 8.4.4), 2026-12-05.
STARVATION = "2026/12/05 15:57:55 [PHJDC-499N2][EC 100663314] STARVATION: task vtysh_rl_read (557d13479d80) ran for 9034ms (cpu time 32ms)"

FAKE_VTYSH = textwrap.dedent('''\
    import sys
    log_after_prompt, log_inside = sys.argv[1], sys.argv[2]
    write = sys.stdout.write
    write("\\nHello, this is FRRouting (version 8.4.4).\\nCopyright 1996-2005 Kunihiro Ishiguro, et al.\\n\\n")
    sys.stdout.flush()
    for line in sys.stdin:
        command = line.rstrip("\\n")
        write("r1# ")
        if log_after_prompt and command.startswith(log_after_prompt):
            write(LOG + "\\n")
        write(command + "\\n")
        if command == "show running-config":
            write("hostname r1\\n")
            if log_inside:
                write(LOG + "\\n")
            write("interface eth0\\n ip address 198.18.4.3/31\\nexit\\nend\\n")
        elif command == "hang":
            sys.stdout.flush()
            sys.stdin.readline() and __import__("time").sleep(60)
        elif command != "configure terminal":
            write(f"% Unknown command: {command}\\n")
        sys.stdout.flush()
    ''').replace("LOG", repr(STARVATION))


@pytest.fixture
def fake(tmp_path: Path):
    script = tmp_path / "vtysh.py"
    script.write_text(FAKE_VTYSH)

    def start(log_after_prompt: str = "", log_inside: bool = False) -> frr_agent.Vtysh:
        return frr_agent.Vtysh([sys.executable, str(script), log_after_prompt, "1" if log_inside else ""])
    return start


def test_a_command_and_its_output(fake) -> None:
    vt = fake()
    try:
        assert vt.run("show running-config", timeout=5) == (True, "hostname r1\ninterface eth0\n ip address 198.18.4.3/31\nexit\nend\n")
        assert vt.run("bogus", timeout=5) == (False, "% Unknown command: bogus\n")
        assert vt.run("configure terminal", timeout=5) == (True, "")
    finally:
        vt.close()


@pytest.mark.parametrize("where", ["hatang-mark-", "show running-config"])
def test_a_log_line_after_a_prompt_ends_nothing_and_says_nothing(fake, where: str) -> None:
    """Glued to the marker's prompt, the log line took the echo's "r1# ": the wait ran to
    its bound (120 s) and the apply was lost. Glued to the command's, it was output."""
    vt = fake(log_after_prompt=where)
    try:
        for _ in range(2):
            assert vt.run("show running-config", timeout=5) == (True, "hostname r1\ninterface eth0\n ip address 198.18.4.3/31\nexit\nend\n")
    finally:
        vt.close()


def test_a_log_line_inside_the_running_configuration_is_not_configuration(fake) -> None:
    vt = fake(log_inside=True)
    try:
        assert STARVATION not in vt.running() and vt.running().startswith("hostname r1\ninterface eth0\n")
    finally:
        vt.close()


def test_a_vtysh_that_stops_answering_is_bounded(fake) -> None:
    vt = fake()
    try:
        with pytest.raises(frr_agent.AgentError, match="no answer in time") as caught:
            vt.run("hang", timeout=1)
        assert caught.value.status == frr_agent.NO_RUNNING
    finally:
        vt.close()


def test_an_apply_cut_short_puts_the_previous_configuration_back(monkeypatch: pytest.MonkeyPatch) -> None:
    agent = frr_agent.Agent.__new__(frr_agent.Agent)  # no router: restore is watched, not run
    agent.session = None
    restored: list[bool] = []
    monkeypatch.setattr(agent, "restore", lambda: restored.append(True) or "")

    def cut_short():
        raise frr_agent.AgentError("vtysh gave no answer in time", frr_agent.NO_RUNNING)

    with pytest.raises(frr_agent.AgentError, match="the apply did not finish: vtysh gave no answer in time") as caught:
        agent.interrupted_apply(cut_short)
    assert caught.value.status == frr_agent.REJECTED and restored == [True]


def test_a_rejection_is_not_an_interruption(monkeypatch: pytest.MonkeyPatch) -> None:
    agent = frr_agent.Agent.__new__(frr_agent.Agent)
    agent.session = None
    restored: list[bool] = []
    monkeypatch.setattr(agent, "restore", lambda: restored.append(True) or "")

    def rejected():
        raise frr_agent.AgentError("no", frr_agent.REJECTED)

    with pytest.raises(frr_agent.AgentError, match="^no$"):
        agent.interrupted_apply(rejected)
    assert not restored and agent.interrupted_apply(lambda: "done") == "done"
