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
