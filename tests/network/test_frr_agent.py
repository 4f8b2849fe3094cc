"""The FRR agent's deltas are frr-reload's: for representative changes, the agent's
engine (FRR's own ``/usr/lib/frr/frr-reload.py``, imported, with the real ``vtysh -m``)
gives exactly what ``frr-reload.py --test`` prints for the same running configuration
and candidate. The agent reads the running configuration as FRR prints it (marked
already), frr-reload here reads it from a file through ``vtysh -m``: the two agree."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hatang.network.drivers import frr_agent, frr_parse

RELOAD = Path(frr_agent.RELOAD_PY)
pytestmark = pytest.mark.skipif(not RELOAD.exists(), reason="needs frr-pythontools (frr-reload.py)")

#: A running configuration as FRR 8.4 prints it (every node ends with "exit").
RUNNING = """\
frr version 8.4.4
frr defaults traditional
hostname r1
log syslog informational
no ipv6 forwarding
service integrated-vtysh-config
!
ip route 198.18.96.0/24 Null0
!
interface eth0
 description uplink
 ip address 198.18.4.3/31
 ip ospf network point-to-point
exit
!
interface eth1
 ip address 198.18.64.65/26
 ip ospf passive
exit
!
router ospf
 ospf router-id 198.18.0.3
 network 198.18.4.2/31 area 0.0.0.243
 area 0.0.0.243 stub
exit
!
end
"""

CHANGES = {
    "unchanged": lambda c: c,
    "reordered, with comments and without the version line": lambda c: "! rendered by hatang\n" + c.replace("frr version 8.4.4\n", "").replace(
        " ospf router-id 198.18.0.3\n network 198.18.4.2/31 area 0.0.0.243\n", " network 198.18.4.2/31 area 0.0.0.243\n ospf router-id 198.18.0.3\n"),
    "day-0 lines added": lambda c: c.replace("router ospf\n", "router ospf\n log-adjacency-changes\n").replace(
        "exit\n!\nrouter", "exit\n!\ninterface lo\n ip address 198.18.0.3/32\nexit\n!\nrouter"),
    "a line moved to another context": lambda c: c.replace(" ip address 198.18.64.65/26\n ip ospf passive\n", " ip address 198.18.64.65/26\n").replace(
        " ip ospf network point-to-point\n", " ip ospf network point-to-point\n ip ospf passive\n"),
    "an interface removed (FRR cannot delete one: its lines go)": lambda c: c.replace("interface eth1\n ip address 198.18.64.65/26\n ip ospf passive\nexit\n!\n", ""),
    "OSPF removed": lambda c: c.split("router ospf\n")[0] + "end\n",
    "a value changed": lambda c: c.replace("area 0.0.0.243 stub", "area 0.0.0.243 stub no-summary").replace("description uplink", "description to dr-vinh-yen"),
    "a static route replaced, written with host bits": lambda c: c.replace("ip route 198.18.96.0/24 Null0", "ip route 198.18.97.1/24 Null0"),
    "a default turned off": lambda c: c.replace("no ipv6 forwarding\n", ""),
}


@pytest.fixture(scope="module")
def reload():
    return frr_agent.load_reload()


def agent_report(reload, tmp_path: Path, candidate: str, running: str = RUNNING) -> str:
    path = tmp_path / "candidate.conf"
    path.write_text(candidate)
    new = frr_agent.read_file(reload, ["vtysh"], str(path))
    return frr_agent.report(reload, *frr_agent.compare(reload, new, frr_agent.read_running(reload, running)))


def frr_reload_test(tmp_path: Path, candidate: str, running: str = RUNNING) -> str:
    (tmp_path / "running.conf").write_text(running)
    (tmp_path / "reload-candidate.conf").write_text(candidate)
    proc = subprocess.run([str(RELOAD), "--test", "--input", str(tmp_path / "running.conf"), str(tmp_path / "reload-candidate.conf")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("change", CHANGES)
def test_the_agent_gives_frr_reloads_deltas(reload, tmp_path: Path, change: str) -> None:
    candidate = CHANGES[change](RUNNING)
    assert agent_report(reload, tmp_path, candidate) == frr_reload_test(tmp_path, candidate)


def test_what_the_deltas_say(reload, tmp_path: Path) -> None:
    """The comparison above could agree on nothing: pin what a few changes give."""
    assert agent_report(reload, tmp_path, CHANGES["reordered, with comments and without the version line"](RUNNING)) == ""
    moved = frr_parse.reload_deltas(agent_report(reload, tmp_path, CHANGES["a line moved to another context"](RUNNING)))
    assert moved == [("-", "interface eth1", " ip ospf passive"), ("+", "interface eth0", " ip ospf passive")]
    removed = frr_parse.reload_deltas(agent_report(reload, tmp_path, CHANGES["an interface removed (FRR cannot delete one: its lines go)"](RUNNING)))
    assert removed == [("-", "interface eth1", " ip address 198.18.64.65/26"), ("-", "interface eth1", " ip ospf passive")]
    assert frr_parse.reload_deltas(agent_report(reload, tmp_path, CHANGES["OSPF removed"](RUNNING))) == [("-", "router ospf", "")]


def test_a_line_vtysh_does_not_know_rejects_the_candidate(reload, tmp_path: Path) -> None:
    path = tmp_path / "candidate.conf"
    path.write_text(RUNNING.replace(" ip ospf passive", " ip ospf pasive-ish"))
    with pytest.raises(reload.VtyshException, match="pasive-ish"):
        frr_agent.read_file(reload, ["vtysh"], str(path))


def test_the_running_hostname_is_kept() -> None:
    candidate = RUNNING.replace("hostname r1", "hostname cpe-yen-thu")
    assert frr_agent.same_hostname(candidate, RUNNING) == RUNNING
    assert frr_agent.same_hostname(candidate, "interface eth0\nexit\n") == candidate


def test_a_router_without_frr_reload_is_told_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(frr_agent, "RELOAD_PY", str(tmp_path / "missing" / "frr-reload.py"))
    monkeypatch.chdir(tmp_path)
    assert frr_agent.main([str(tmp_path), "r1", "-", "serve", "token"]) == frr_agent.CANNOT_RUN
    assert "frr-reload.py is missing on the router (Debian's package frr-pythontools)" in capsys.readouterr().out


def test_frr_reloads_compiled_code_is_kept_beside_the_agents(tmp_path: Path) -> None:
    first = frr_agent.load_reload(cache_dir=str(tmp_path))
    [cache] = tmp_path.glob("frr-reload.*.code")
    assert frr_agent.load_reload(cache_dir=str(tmp_path)).compare_context_objects.__code__.co_filename == str(RELOAD)
    cache.write_bytes(b"not marshal data")
    assert frr_agent.load_reload(cache_dir=str(tmp_path)).lines_to_config(("router ospf",), None, True) == first.lines_to_config(("router ospf",), None, True) == ["no router ospf"]
    assert cache.read_bytes() != b"not marshal data", "a spoilt cache is written again"


def _fire_timer(directory: Path, pending_of: str) -> bool:
    """Run the revert timer (1 s) in ``directory``, a stub agent in place of the real one;
    ``pending`` then holds the timer's own pid ("self") or another's. True if it reverted."""
    (directory / "frr_agent.py").write_text("import pathlib, sys\npathlib.Path(sys.argv[1], 'reverted').write_text(sys.argv[4])\n")
    timer = subprocess.Popen(["sh", "-c", frr_agent.TIMER, "timer", "1", str(directory), "r1", "-"], start_new_session=True)
    (directory / "pending").write_text(f"{timer.pid if pending_of == 'self' else timer.pid + 100000}\n")
    assert timer.wait(timeout=30) == (0 if pending_of == "self" else 1)
    return (directory / "reverted").exists()


def test_the_revert_timer_reverts_its_own_commit_only(tmp_path: Path) -> None:
    """A timer that outlived its confirm (its pid unread, or its kill lost) never reverts
    the commit that came after: ``pending`` names the timer that armed it."""
    own, later = tmp_path / "own", tmp_path / "later"
    own.mkdir(), later.mkdir()
    assert _fire_timer(own, "self") and (own / "reverted").read_text() == "revert" and (own / "reverting").exists()
    assert not _fire_timer(later, "other") and (later / "pending").exists() and not (later / "reverting").exists()
