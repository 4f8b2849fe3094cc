"""hatang.options.scoped: the shared options declared once, a Scope handed to the command."""

from __future__ import annotations

from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from hatang.options import Scope, scoped

Pick = Annotated[list[str] | None, typer.Option("--pick", help="Only this one (repeatable).")]


def make_app(seen: list) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @scoped(Pick)
    def show(scope: Scope, what: Annotated[str, typer.Argument()], loud: bool = False) -> None:
        seen.append((scope, what, loud))

    @app.command()
    @scoped()
    def other(scope: Scope) -> None:
        seen.append(scope)

    return app


def test_the_shared_options_reach_the_command_as_a_scope(tmp_path):
    seen: list = []
    app = make_app(seen)
    done = CliRunner().invoke(app, ["show", "thing", "-i", str(tmp_path), "--env", "production", "--pick", "a", "--pick", "b", "--json", "--loud"])
    assert done.exit_code == 0, done.output
    assert seen == [(Scope(tmp_path, "production", True, ["a", "b"]), "thing", True)]
    done = CliRunner().invoke(app, ["other"], env={"HATANG_ENV": "", "HATANG_INVENTORY": ""})
    assert done.exit_code == 0, done.output
    assert seen[-1] == Scope(None, "lab", False, None)


def test_the_help_lists_arguments_shared_options_own_options_then_json():
    app = make_app([])
    text = CliRunner().invoke(app, ["show", "--help"], env={"COLUMNS": "200"}).output
    order = [text.index(flag) for flag in ("--inventory", "--env", "--pick", "--loud", "--json")]
    assert order == sorted(order)
    assert "--pick" not in CliRunner().invoke(app, ["other", "--help"]).output


def test_a_command_without_a_scope_is_refused():
    with pytest.raises(TypeError, match="takes scope: Scope first"):
        scoped()(lambda name: None)
