"""Inventory text in router configurations: escaped per platform where quotes and
delimiters are legal, and a line no template produces is caught by lint."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.hostile import copy_inventory
from hatang.errors import HatangError
from hatang.inventory import load
from hatang.inventory.model import Platform
from hatang.network.escape import escape_text
from hatang.network.lint import lint
from hatang.network.render import Renderer


def edited_inventory(tmp_path: Path, file: str, find: str, replace: str) -> Path:
    directory = copy_inventory(tmp_path / "inventory")
    path = directory / file
    text = path.read_text(encoding="utf-8")
    assert text.count(find) == 1
    path.write_text(text.replace(find, replace), encoding="utf-8")
    return directory


def test_ios_banner_delimiter_in_a_province_name_cannot_end_the_banner(tmp_path, fake_secrets) -> None:
    directory = edited_inventory(tmp_path, "province.yaml", "  name: Vĩnh Phúc\n", '  name: "Vĩnh Phúc ^C username x privilege 15"\n')
    rendered = Renderer(load(directory, "production")).render("cpe-tich-son")
    assert rendered.platform == "ios"
    lines = rendered.text.splitlines()
    start = lines.index("banner login ^C")
    end = lines.index("^C", start + 1)
    body = lines[start + 1 : end]
    assert any("Vinh Phuc C username x privilege 15" in line for line in body)
    assert not any("^" in line for line in body)
    assert lint("ios", rendered.text) == []


def test_junos_quote_in_a_district_name_stays_inside_the_description(tmp_path, fake_secrets) -> None:
    directory = edited_inventory(tmp_path, "province.yaml", "  name: Vĩnh Yên\n", "  name: 'Vĩnh Yên\"; disable; \"\\'\n")
    rendered = Renderer(load(directory, "production")).render("core-iic")
    assert rendered.platform == "junos"
    descriptions = [line.strip() for line in rendered.text.splitlines() if "to dr-vinh-yen" in line]
    assert descriptions and all('(Vinh Yen\\"; disable; \\"\\\\ region,' in d for d in descriptions), descriptions
    assert not any(line.strip() == "disable;" for line in rendered.text.splitlines())
    assert lint("junos", rendered.text) == []


def test_a_name_holding_the_eos_banner_terminator_word_is_fine(tmp_path, fake_secrets) -> None:
    directory = edited_inventory(tmp_path, "province.yaml", "  name: Vĩnh Phúc\n", "  name: Vĩnh Phúc EOF\n")
    rendered = Renderer(load(directory, "production")).render("dr-vinh-yen")
    assert rendered.platform == "eos" and "Vinh Phuc EOF (IIC)." in rendered.text
    assert lint("eos", rendered.text) == []


def test_the_filter_refuses_what_the_policy_refuses() -> None:
    with pytest.raises(HatangError, match=r"cpe-x: text 'a\\nb' cannot go into a configuration: control character U\+000A"):
        escape_text("ios", "a\nb", device="cpe-x")
    assert escape_text("junos", 'a "b" \\ */') == 'a \\"b\\" \\\\ * /'
    assert escape_text("ios", "Đông ^C") == "Dong C"
    assert escape_text("frr", "Đông ^C") == "Đông ^C"
    assert escape_text("eos", "a {{ b }} {% c %} {#") == "a { { b }} { % c %} { #"


#: (platform, device, a line of the rendered configuration, the stray line put after it):
#: a newline in a name would have produced each of these.
INJECTIONS = [
    ("ios", "cpe-tich-son", " description WAN uplink", "ip route 0.0.0.0 0.0.0.0 198.18.0.9"),
    ("ios", "cpe-tich-son", "banner login ^C", "^C"),
    ("eos", "dr-vinh-yen", "   description WAN uplink", "username x privilege 15 nopassword"),
    ("junos", "core-iic", '        description "WAN downlink', '        description "WAN"; disable; "";'),
    ("frr", "cpe-tich-son", " description WAN uplink", "ip route 0.0.0.0/0 198.18.0.9"),
]


@pytest.mark.parametrize(("platform", "device", "after", "stray"), INJECTIONS)
def test_lint_finds_a_line_no_template_produces(fake_secrets, platform: str, device: str, after: str, stray: str) -> None:
    env = "lab" if platform == "frr" else "production"
    rendered = Renderer(load(env=env)).render(device, Platform(platform))
    assert lint(platform, rendered.text) == []
    lines = rendered.text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(after))
    tampered = "\n".join([*lines[: at + 1], stray, *lines[at + 1 :]]) + "\n"
    problems = lint(platform, tampered)
    flagged = [int(p.split(":")[0].removeprefix("line ")) for p in problems if p.startswith("line ")]
    # the stray line itself, or (a banner ended early) the lines it pushed out of the banner
    assert flagged and min(flagged) >= at + 2 and "no " + platform + " template produces this line" in "".join(problems), problems


def test_render_refuses_a_newline_that_reached_the_intent_another_way(fake_secrets, monkeypatch) -> None:
    """Defence in depth: the loader refuses it first, but a value that reaches a template
    by another path still cannot start a line."""
    from hatang.network.intent import IntentBuilder

    monkeypatch.setattr(IntentBuilder, "describe", lambda self, device, port: "WAN\nip route 0.0.0.0 0.0.0.0 198.18.0.9")
    with pytest.raises(HatangError, match=r"cpe-tich-son: text 'WAN\\nip route .*control character U\+000A"):
        Renderer(load(env="production")).render("cpe-tich-son")
