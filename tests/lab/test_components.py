"""The component registry: rooms plug in by module path; a room not written yet is skipped."""

from __future__ import annotations

import sys
import types

from hatang.lab import components


def test_routers_come_first():
    assert components.COMPONENTS[0] == ("routers", "hatang.lab.routers")
    assert components.entries()[0].module is not None


def test_a_module_not_written_yet_is_skipped(monkeypatch):
    monkeypatch.setattr(components, "COMPONENTS", [("routers", "hatang.lab.routers"), ("ghost", "hatang.lab.ghost_not_written")])
    names = [(e.name, e.module is not None) for e in components.entries()]
    assert names == [("routers", True), ("ghost", False)]
    assert [e.name for e in components.available()] == ["routers"]


def test_a_module_without_the_three_verbs_is_not_a_component_yet(monkeypatch):
    half = types.ModuleType("hatang.lab.half_written")
    half.up = lambda ctx: None
    monkeypatch.setitem(sys.modules, "hatang.lab.half_written", half)
    monkeypatch.setattr(components, "COMPONENTS", [("half", "hatang.lab.half_written")])
    assert components.available() == []


def test_a_broken_import_inside_a_component_is_not_hidden(monkeypatch, tmp_path):
    broken = tmp_path / "broken_component_mod.py"
    broken.write_text("import module_that_does_not_exist_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(components, "COMPONENTS", [("broken", "broken_component_mod")])
    try:
        components.entries()
    except ModuleNotFoundError as exc:
        assert exc.name == "module_that_does_not_exist_anywhere"
    else:
        raise AssertionError("a component's own missing import must surface")
