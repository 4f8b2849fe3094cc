"""Lint on Huawei VRP renders: the common rules as on every platform, then the Cisco-like
ones over the lines between VRP's ``#`` separators (ASCII only, as on IOS)."""

from __future__ import annotations

from hatang.network.lint import rule_problems as lint


def test_vrp_gets_the_common_rules_and_the_cisco_like_ones() -> None:
    text = "sysname x\n#\ninterface GigabitEthernet0/0/1\n description {{ x }}\n#\ninterface GigabitEthernet0/0/1\n description Vĩnh Yên\n#"
    found = lint("huawei_vrp", text)
    assert found[:2] == ["line 4: template left-over: description {{ x }}", "interface GigabitEthernet0/0/1 configured 2 times"]
    assert len(found) == 3 and found[2].endswith(": non-ASCII text")


def test_vrp_separators_are_not_findings() -> None:
    assert lint("huawei_vrp", "#\nsysname x\n#\nreturn\n#") == []


def test_findings_name_the_texts_own_lines_past_separators_and_comments() -> None:
    """The separators and FRR's '!' comments hold no statement, but they are lines of
    the file: a finding after them names the line an editor shows."""
    vrp = "#\nsysname x\n#\nacl number 2000\n#\nsnmp-agent community read ro MGMT-IN\n#\nsysname ả\n"
    assert lint("huawei_vrp", vrp) == ["line 6: access list MGMT-IN is used but not defined", "line 8: non-ASCII text"]
    assert lint("frr", "! comment\n!\nip access-group MGMT-IN in\n") == ["line 3: access list MGMT-IN is used but not defined"]
