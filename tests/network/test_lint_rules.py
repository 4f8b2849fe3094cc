"""Lint's rules one by one (the structural check has its own tests in test_escape.py), and the diff summary, on small hand-written texts."""

from __future__ import annotations

from hatang.network.diff import coloured, compare, summary
from hatang.network.lint import rule_problems as lint


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


def test_template_tag_leftover_and_junos_after_comments() -> None:
    assert lint("eos", "{% if x %}\n") == ["line 1: template left-over: {% if x %}"]
    # a comment does not end the check: the statement after it is still read
    assert lint("junos", "/* header */\nhost-name a\n") == ["line 2: statement without ';': host-name a"]
    # after a stray '}' the count starts again from zero
    assert lint("junos", "}\nsystem {\n}\n") == ["line 1: '}' closes nothing"]
    # the common checks apply on every platform, beside the platform's own
    assert lint("junos", "system { \n}\n") == ["line 1: trailing whitespace"]


def test_cisco_like_rules_on_eos_and_frr() -> None:
    twice = "interface Ethernet1\ninterface Ethernet1 \n"
    assert lint("eos", "interface Ethernet1\ninterface Ethernet1\n") == ["interface Ethernet1 configured 2 times"]
    assert lint("frr", twice) == ["line 2: trailing whitespace"]  # not the same interface line
    assert lint("frr", "interface eth0\ninterface eth0\n") == ["interface eth0 configured 2 times"]
    # FRR's '!' lines are comments: an ACL named there is not a use; outside, it is
    assert lint("frr", "! ip access-group MGMT-IN in\n") == []
    assert lint("frr", "ip access-group MGMT-IN in\n") == ["line 1: access list MGMT-IN is used but not defined"]
    # VRP is Cisco-like, ASCII only, with '#' as its section separator
    assert lint("huawei_vrp", "interface a\n#\ninterface a\n#\n") == ["interface a configured 2 times"]
    assert lint("huawei_vrp", "sysname ả\n") == ["line 1: non-ASCII text"]


def test_coloured_keeps_the_lines() -> None:
    assert coloured("+a\n-b\n").plain == "+a\n-b\n"


def test_compare_asks_each_router_and_discards(monkeypatch, fake_secrets) -> None:
    """A stand-in napalm driver per device: the rendered config is loaded, the device's
    diff returned, the candidate discarded and the session closed; progress is shown."""
    from hatang.inventory import load
    from hatang.network import diff as diff_module
    from hatang.network.render import Renderer

    inv = load(None, "lab")
    calls: list[tuple[str, str]] = []

    class Driver:
        def __init__(self, name: str) -> None:
            self.name = name

        def open(self) -> None:
            calls.append((self.name, "open"))

        def load_replace_candidate(self, config: str) -> None:
            calls.append((self.name, "load"))
            self.config = config

        def compare_config(self) -> str:
            return "\n+hostname new\n" if self.name == "core-iic" else ""

        def discard_config(self) -> None:
            calls.append((self.name, "discard"))

        def close(self) -> None:
            calls.append((self.name, "close"))

    drivers: dict[str, Driver] = {}
    seen: dict[str, object] = {}
    real = diff_module.run_per_host

    def recording(hosts, task, **kwargs):
        seen.update(kwargs)
        return real(hosts, task, **{**kwargs, "show_progress": False})

    monkeypatch.setattr(diff_module, "run_per_host", recording)
    results = compare(inv, ["core-iic", "cpe-tich-son"], open_driver=lambda _inv, name: drivers.setdefault(name, Driver(name)))
    by_host = {r.host: r for r in results}
    assert (by_host["core-iic"].changed, by_host["core-iic"].diff) == (True, "+hostname new")
    assert (by_host["cpe-tich-son"].changed, by_host["cpe-tich-son"].diff) == (False, "")
    assert drivers["core-iic"].config == Renderer(inv).render("core-iic").text
    assert sorted(calls) == sorted((n, step) for n in ("core-iic", "cpe-tich-son") for step in ("open", "load", "discard", "close"))
    assert seen == {"label": "comparing", "show_progress": True}
