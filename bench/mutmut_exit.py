"""A pytest plugin for the mutation runs (``-p bench.mutmut_exit``): mutmut 2 counts a
mutant as killed only when pytest exits 1, so a mutant that breaks the module's import
(pytest exits 2, collection interrupted) would count as a survivor. Any failed run
exits 1 here; "no tests collected" (5) is left as it is."""

from __future__ import annotations

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
