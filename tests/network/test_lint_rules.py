"""Lint's rules one by one, and the diff summary, on small hand-written texts."""

from __future__ import annotations

from hatang.network.diff import coloured, summary
from hatang.network.lint import lint


def test_ios_wants_ascii_eos_and_frr_do_not_care() -> None:
    text = "hostname cpe-tich-son\nbanner motd ^Xã Tích Sơn^\n"
    assert lint("ios", text) == ["line 2: non-ASCII text"]
    assert lint("eos", text) == []
    assert lint("frr", text) == []


def test_template_leftovers_whitespace_and_tabs() -> None:
    assert lint("eos", "hostname {{ name }}\ndescription None\n") == [
        "line 1: template left-over: hostname {{ name }}",
        "line 2: template left-over: description None",
    ]
    assert lint("ios", "hostname a \n\tip routing\n") == ["line 1: trailing whitespace", "line 2: tab character"]
    assert lint("ios", "hostname Nonesuch\n") == []  # None only as a word


def test_acl_used_but_not_defined_and_interfaces_twice() -> None:
    text = "interface Gi0/1\n ip access-group MGMT-IN in\ninterface Gi0/1\nline vty 0 4\n access-class MGMT-ONLY in\nip access-list standard MGMT-ONLY\n"
    assert lint("ios", text) == ["interface Gi0/1 configured 2 times", "line 2: access list MGMT-IN is used but not defined"]
    # FRR's '!' comment lines are not statements
    assert lint("frr", "! interface eth0 ip access-group X in\ninterface eth0\n") == []


def test_junos_braces_and_semicolons() -> None:
    assert lint("junos", "system {\n    host-name a;\n}\n") == []
    assert lint("junos", "system {\n    host-name a\n") == ["line 2: statement without ';': host-name a", "1 '{' never closed"]
    assert lint("junos", "}\n/* comment */\n# note\n") == ["line 1: '}' closes nothing"]


def test_diff_summary_counts_additions_and_removals_apart() -> None:
    diff = "+hostname b\n+ip routing\n-hostname a\n context\n"
    assert summary(diff) == "+2 -1"
    assert summary("") == "+0 -0"
    styles = [span.style for span in coloured(diff).spans]
    assert styles == ["green", "green", "red", "dim"]
