"""pytest for the mutation runs (``python -m bench.mutmut_pytest ARGS``): mutmut 2 counts a
mutant as killed only when the tests exit 1, so a mutant that breaks the module's import
(pytest exits 2 when a test module cannot be imported, 4 when a conftest cannot) would
count as a survivor. Here every failed run exits 1; "no tests collected" (5) stays 5."""

from __future__ import annotations

import sys

import pytest


def main() -> int:
    code = pytest.main(sys.argv[1:])
    return code if code in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) else 1


if __name__ == "__main__":
    sys.exit(main())
