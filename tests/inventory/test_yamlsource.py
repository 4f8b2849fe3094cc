"""Bounded YAML reading: merges, aliases and bombs behave as YAML says, within bounds."""

from __future__ import annotations

from pathlib import Path

import yaml

from hatang.inventory.yamlsource import MAX_NODES, Problem, Source, read


def parse(tmp_path: Path, text: str) -> Source | Problem:
    path = tmp_path / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    return read(path, "doc.yaml")


def test_merge_keys_are_overridden_by_the_mapping_own_keys(tmp_path: Path) -> None:
    text = "a: &a {x: 1, y: 2}\nb:\n  <<: *a\n  x: 3\n"
    source = parse(tmp_path, text)
    assert isinstance(source, Source)
    assert source.data == yaml.safe_load(text) == {"a": {"x": 1, "y": 2}, "b": {"x": 3, "y": 2}}
    assert source.line_of(("b", "x")) == 4


def test_an_own_key_written_twice_is_still_a_duplicate(tmp_path: Path) -> None:
    problem = parse(tmp_path, "a: &a {x: 1}\nb:\n  <<: *a\n  y: 2\n  y: 3\n")
    assert str(problem) == "doc.yaml:5: b.y: invalid YAML: duplicate key 'y'"


def test_a_merge_that_includes_itself_is_refused(tmp_path: Path) -> None:
    problem = parse(tmp_path, "a: &a\n  b: 1\n  c:\n    <<: *a\n")
    assert isinstance(problem, Problem) and "a recursive alias" in problem.message


def test_an_alias_bomb_stops_at_the_bound(tmp_path: Path) -> None:
    levels = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    problem = parse(tmp_path, "\n".join(levels) + "\n")
    assert isinstance(problem, Problem)
    assert problem.message == f"invalid YAML: more than {MAX_NODES} values (aliases expanded)"
    assert problem.line is not None and problem.path[0].startswith("l")
