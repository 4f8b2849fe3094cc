"""The runbooks as documents: one per alert rule and one rule per runbook, both
languages, valid front matter, and only hatang commands that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
import yaml

from hatang.cli import app
from hatang.paths import room_dir
from hatang.runbooks import catalog

RULES = sorted((room_dir("monitoring") / "rules").glob("*.yml"))
SECTIONS = {
    "## Tiếng Việt": ["### Ý nghĩa", "### Nguyên nhân thường gặp", "### Chẩn đoán", "### Khắc phục", "### Khi nào báo lên"],
    "## English": ["### Meaning", "### Likely causes", "### Diagnosis", "### Remediation", "### When to escalate"],
}

ROLES = {
    "on-call network engineer",
    "on-call infrastructure engineer (monitoring servers)",
    "on-call infrastructure engineer (private cloud)",
    "commune or ward office IT contact",
    "telecom provider NOC (VNPT/Viettel, dedicated data network)",
    "IIC network team lead",
    "IIC director",
}


def alert_rules() -> dict[str, dict]:
    """Every alerting rule of monitoring/rules/*.yml, by alert name."""
    rules = {}
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules |= {r["alert"]: r for r in group["rules"] if "alert" in r}
    return rules


def test_every_alert_rule_has_a_runbook_and_every_runbook_an_alert():
    rules = alert_rules()
    assert rules, "monitoring/rules/*.yml has no alert rule"
    runbooks = {r.alert for r in catalog.load_all()}
    assert sorted(set(rules) - runbooks) == [], "alert rules without a runbook"
    assert sorted(runbooks - set(rules)) == [], "runbooks without an alert rule"


@pytest.mark.parametrize("alert", sorted(alert_rules()))
def test_runbook_url_points_at_the_runbook_file(alert):
    url = alert_rules()[alert]["annotations"]["runbook_url"]
    assert url.endswith(f"/runbooks/{catalog.kebab_name(alert)}.md")
    assert (catalog.RUNBOOK_DIR / f"{catalog.kebab_name(alert)}.md").is_file()


def test_severity_matches_the_rule():
    rules = alert_rules()
    for runbook in catalog.load_all():
        assert runbook.meta.severity == rules[runbook.alert]["labels"]["severity"], runbook.alert


def test_kebab_names():
    assert catalog.kebab_name("HatangWanLinkDown") == "wan-link-down"
    assert catalog.kebab_name("HatangAvailabilityBurnRateFast") == "availability-burn-rate-fast"


@pytest.mark.parametrize("runbook", catalog.load_all(), ids=lambda r: r.name)
def test_both_languages_have_every_section_in_order(runbook):
    body = runbook.body
    for language, sections in SECTIONS.items():
        start = body.index(language)
        positions = [body.index(s, start) for s in sections]
        assert positions == sorted(positions), f"{runbook.name}: {language} sections out of order"
    vietnamese = body[body.index("## Tiếng Việt") : body.index("## English")]
    assert re.search(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", vietnamese), "Vietnamese without diacritics"


@pytest.mark.parametrize("runbook", catalog.load_all(), ids=lambda r: r.name)
def test_escalation_goes_by_role_from_on_call_to_director(runbook):
    """Roles from one vocabulary (so no runbook names a person), in time order."""
    steps = runbook.meta.escalation
    assert {s.role for s in steps} <= ROLES
    assert steps[0].role == "on-call network engineer"
    assert steps[-1].role == "IIC director"
    assert [s.after_min for s in steps] == sorted(s.after_min for s in steps)


def command_paths(group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every command path of the CLI (typer's groups have ``commands``)."""
    paths = set()
    for name, command in group.commands.items():
        paths.add(prefix + (name,))
        if hasattr(command, "commands"):
            paths |= command_paths(command, prefix + (name,))
    return paths


def mentioned_commands(runbook: catalog.Runbook, top_level: set[str]) -> list[list[str]]:
    """The hatang commands a runbook tells people to run: every `hatang …` in backticks,
    and bare "hatang GROUP …" in prose and in the next steps."""
    texts = [runbook.body] + [s.vi + s.en for s in runbook.meta.next_steps]
    found = []
    for text in texts:
        found += [m.group(1).split() for m in re.finditer(r"`hatang((?: [a-z][a-z-]*)+)", text)]
        for match in re.finditer(r"(?<!`)hatang((?: [a-z][a-z-]*)+)", text):
            words = match.group(1).split()
            if words[0] in top_level:
                found.append(words)
    return found


def resolve(group, words: list[str]):
    """The command ``hatang WORDS…`` names, or None."""
    command = group
    for word in words:
        if not hasattr(command, "commands") or word not in command.commands:
            break
        command = command.commands[word]
    return None if command is group or hasattr(command, "commands") else command


@pytest.mark.parametrize("runbook", catalog.load_all(), ids=lambda r: r.name)
def test_options_a_runbook_names_exist(runbook):
    root = typer.main.get_command(app)
    texts = [runbook.body] + [s.vi + s.en for s in runbook.meta.next_steps]
    for text in texts:
        for span in re.findall(r"hatang ([a-z][^`\n]*)", text):
            tokens = span.split()
            command = resolve(root, tokens)
            if command is None:
                continue
            options = {opt for param in command.params for opt in param.opts}
            for token in tokens:
                if token.startswith("--"):
                    assert token in options, f"{runbook.name}: 'hatang {span}': no option {token} (has {sorted(options)})"


@pytest.mark.parametrize("runbook", catalog.load_all(), ids=lambda r: r.name)
def test_every_hatang_command_a_runbook_names_exists(runbook):
    known = command_paths(typer.main.get_command(app))
    mentioned = mentioned_commands(runbook, {p[0] for p in known})
    assert mentioned, "a runbook must say which hatang command to run"
    for words in mentioned:
        assert any(tuple(words[: len(p)]) == p and len(p) >= 2 for p in known), f"{runbook.name}: 'hatang {' '.join(words)}' is not a command"


def test_find_accepts_alert_and_file_names():
    assert catalog.find("HatangDeviceDown").name == "device-down"
    assert catalog.find("hatangdevicedown").name == "device-down"
    assert catalog.find("wan-link-down").alert == "HatangWanLinkDown"
    assert catalog.find("wan-link-down.md").alert == "HatangWanLinkDown"
    with pytest.raises(catalog.RunbookError, match="no runbook for 'HatangNope'.*HatangDeviceDown"):
        catalog.find("HatangNope")


def write_runbook(directory: Path, name: str, front: str) -> Path:
    path = directory / f"{name}.md"
    path.write_text(f"---\n{front}\n---\n# body\n", encoding="utf-8")
    return path


def valid_front() -> dict:
    return yaml.safe_load(catalog.find("device-down").path.read_text(encoding="utf-8").split("---\n")[1])


def test_malformed_front_matter_names_the_file_and_key(tmp_path):
    front = valid_front()
    front["escalation"][0].pop("vai_tro")
    front["severity"] = "urgent"
    path = write_runbook(tmp_path, "device-down", yaml.safe_dump(front, allow_unicode=True))
    with pytest.raises(catalog.RunbookError) as info:
        catalog.parse(path)
    assert str(path) in info.value.message
    assert any(d.startswith("severity:") for d in info.value.details)
    assert any(d.startswith("escalation.0.vai_tro:") for d in info.value.details)


def test_unknown_check_and_dangling_condition_are_refused(tmp_path):
    front = valid_front()
    front["diagnostics"][0]["check"] = "reboot_it"
    front["next_steps"].insert(0, {"when": {"core.uptime": "ok"}, "vi": "x", "en": "x"})
    path = write_runbook(tmp_path, "device-down", yaml.safe_dump(front, allow_unicode=True))
    with pytest.raises(catalog.RunbookError) as info:
        catalog.parse(path)
    assert any("unknown check 'reboot_it'" in d for d in info.value.details)
    assert any("'core.uptime' is not among the diagnostics" in d for d in info.value.details)


def test_a_runbook_in_the_wrong_file_and_yaml_errors_are_refused(tmp_path):
    path = write_runbook(tmp_path, "wrong-name", yaml.safe_dump(valid_front(), allow_unicode=True))
    with pytest.raises(catalog.RunbookError, match="belongs in device-down.md"):
        catalog.parse(path)
    broken = write_runbook(tmp_path, "broken", "alert: [unclosed")
    with pytest.raises(catalog.RunbookError, match="not valid YAML"):
        catalog.parse(broken)
    (tmp_path / "bare.md").write_text("# no front matter\n")
    with pytest.raises(catalog.RunbookError, match="no YAML front matter"):
        catalog.parse(tmp_path / "bare.md")
