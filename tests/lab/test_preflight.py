"""Without root or without a Debian package, the lab says so plainly, naming the package."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hatang.errors import MissingDependencyError, NeedsRootError
from hatang.lab import preflight


def test_not_root_is_refused_with_a_plain_message():
    with pytest.raises(NeedsRootError) as exc:
        preflight.check("hatang lab up", euid=1000)
    assert "needs root" in exc.value.message and "hatang lab up" in exc.value.message
    assert exc.value.exit_code != 0


def test_a_missing_program_names_its_debian_package():
    with pytest.raises(MissingDependencyError) as exc:
        preflight.check("hatang lab up", {"/usr/lib/nowhere/frobd": "frobnicator"}, euid=0)
    assert "frobnicator" in exc.value.message and "apt-get install" in exc.value.message
    assert any("/usr/lib/nowhere/frobd" in line for line in exc.value.details)


def test_every_program_the_lab_starts_is_installed():
    assert preflight.missing_packages(preflight.REQUIRES) == {}


def test_the_cli_exits_non_zero_with_the_message_when_a_package_is_missing(monkeypatch, tmp_path):
    """The message reaches the user as one line on stderr, no traceback."""
    code = (
        "import sys; from hatang.lab import preflight; preflight.REQUIRES['/usr/lib/nowhere/frobd'] = 'frobnicator';"
        "from hatang.cli import main; sys.argv = ['hatang', 'lab', 'fault', 'kill', 'no-such-router']; main()"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"HATANG_STATE_DIR": str(tmp_path), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert proc.returncode != 0
    assert "frobnicator" in proc.stderr and "Traceback" not in proc.stderr
