"""The errors hatang reports to users: a message that names what is wrong, and an exit code.

Anything raised as a :class:`HatangError` reaches the user as one clear line (or a list of
lines) and a non-zero exit status, never as a traceback.
"""

from __future__ import annotations


class HatangError(Exception):
    """A failure the user can act on. ``exit_code`` is what the command exits with."""

    exit_code = 1

    def __init__(self, message: str, *, details: list[str] | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        if exit_code is not None:
            self.exit_code = exit_code


class InventoryError(HatangError):
    """The inventory is malformed or inconsistent (exit status 2, as validators do).

    ``problems`` holds the structured problems (file, key, line, message) for --json.
    """

    exit_code = 2
    problems: list = []

    def with_problems(self, problems: list) -> "InventoryError":
        self.problems = list(problems)
        return self


class CredentialError(HatangError):
    """A credential reference could not be resolved from the environment or the vault."""


class NeedsRootError(HatangError):
    """The command needs root (the lab builds namespaces and starts daemons)."""


class MissingDependencyError(HatangError):
    """A program or Debian package the command needs is not installed."""


class UserAbort(HatangError):
    """The user declined a confirmation prompt."""

    exit_code = 3
