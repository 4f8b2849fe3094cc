"""The shell text that runs the controls' checks: for the audit (every applicable control
in one script, one status line each) and for one control alone (the deploy's repairs
ask whether it fails before they act, and verify after)."""

from __future__ import annotations

from hatang.deploy.baseline.controls import PRELUDE, Control
from hatang.deploy.baseline.expected import exports

MARK = "HATANG-CHECK"
#: A check's message is cut to this many characters: the parser's bound.
MESSAGE_MAX = 400


def audit_script(controls: list[Control], env: dict[str, str]) -> str:
    """Each check in a subshell, printing ``MARK id status message`` on one line."""
    lines = [PRELUDE, exports(env)]
    for c in controls:
        lines.append(f"out=$( (\n{c.check}\n) 2>/dev/null ); rc=$?\n"
                     f"printf '{MARK} {c.id} %s %s\\n' \"$rc\" \"$(printf '%s' \"$out\" | tr '\\n' ' ' | cut -c1-{MESSAGE_MAX})\"\n")
    return "".join(lines)


def one(control: Control, env: dict[str, str]) -> str:
    """The check of ``control`` alone, for ``sh -c``: exit status and message as the audit's."""
    return f"{PRELUDE}{exports(env)}{control.check}\n"
