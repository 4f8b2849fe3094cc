"""The revert timer of a commit, as each platform can set it.

``--revert-in`` is one number of seconds; the routers do not all count in seconds.
napalm's IOSDriver rounds ``revert_in`` down to whole minutes and refuses anything
outside 60–7,200 s (``configure replace … time`` takes 1–120 minutes); JunOSDriver
refuses a value that is not a multiple of 60 (``commit confirmed`` counts minutes).
hatang validates and rounds before anything is sent, so a bad value is one clear error
and never a half-done push, and the post-checks wait within the rounded timer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hatang.errors import HatangError

#: Seconds left between the end of the post-checks and the revert, for the confirm
#: to reach the router (one round trip and a commit).
CONFIRM_MARGIN_S = 10


@dataclass(frozen=True)
class RevertRule:
    low_s: int
    high_s: int
    step_s: int
    why: str


RULES = {
    "frr": RevertRule(10, 86_400, 1, "hatang's agent on the router runs the timer in seconds"),
    "eos": RevertRule(10, 86_400, 1, "a configuration session's commit timer counts seconds"),
    "ios": RevertRule(60, 7_200, 60, "IOS's configure replace … time takes 1 to 120 whole minutes"),
    "junos": RevertRule(60, 65_535 * 60, 60, "Junos's commit confirmed counts whole minutes"),
    "huawei_vrp": RevertRule(60, 86_400, 60, "hatang's safety net on VRP, schedule reboot delay, counts whole minutes"),
}


def revert_seconds(platform: str, requested: int) -> int:
    """``requested`` seconds as ``platform`` can set them (rounded down to its step);
    a value outside its window is a :class:`HatangError` naming the window."""
    rule = RULES[platform]
    if not rule.low_s <= requested <= rule.high_s:
        raise HatangError(f"--revert-in {requested}: {platform} reverts after {rule.low_s} to {rule.high_s} s ({rule.why})", exit_code=2)
    return requested - requested % rule.step_s


def check_window(revert_s: int, check_timeout_s: float, platform: str) -> None:
    """The post-checks must end, and the confirm arrive, before the revert."""
    if check_timeout_s + CONFIRM_MARGIN_S > revert_s:
        raise HatangError(f"--check-timeout {check_timeout_s:g} s leaves no time to confirm before {platform}'s revert after {revert_s} s "
                          f"(keep {CONFIRM_MARGIN_S} s between them)", exit_code=2)


def validate(platforms: Iterable[str], revert_in: int, check_timeout_s: float) -> None:
    """Refuse ``revert_in`` (or a post-check time that outlasts it) for any of
    ``platforms``, before anything is sent to any router."""
    for platform in sorted(set(platforms)):
        check_window(revert_seconds(platform, revert_in), check_timeout_s, platform)
