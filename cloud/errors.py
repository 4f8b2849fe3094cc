"""What can go wrong talking to Proxmox VE, as errors the user can act on."""

from __future__ import annotations

from hatang.errors import HatangError


class PveError(HatangError):
    """An API call PVE refused or failed: status, PVE's reason phrase and ``errors`` map."""

    def __init__(self, cluster: str, verb: str, path: str, status: int, reason: str, errors: dict | None = None):
        self.cluster, self.verb, self.path = cluster, verb, path
        self.status, self.reason, self.errors = status, reason, errors or {}
        details = [f"{key}: {value}" for key, value in sorted(self.errors.items())]
        super().__init__(f"{cluster}: {verb} {path}: {status} {reason}{self._hint()}", details=details)

    def _hint(self) -> str:
        if self.status == 401:
            return " (the API token in credential 'pve-api' was refused)"
        if self.status == 403:
            return " (the 'pve-api' token lacks this privilege on the cluster)"
        if self.status == 595:
            return " (the node is unreachable: offline or fenced)"
        return ""

    @property
    def locked(self) -> bool:
        """A config lock held by another operation: worth retrying after a while."""
        return self.status == 500 and is_lock_message(self.reason)

    @property
    def already_exists(self) -> bool:
        return "already exists" in self.reason


class UnreachableError(HatangError):
    """The API endpoint itself cannot be reached (connection, TLS, timeout). ``refused``:
    no connection was made (or it was closed unanswered): another node's endpoint may answer."""

    def __init__(self, message: str, *, timeout: bool = False, refused: bool = False):
        super().__init__(message)
        self.timeout = timeout
        self.refused = refused


class TaskError(HatangError):
    """A PVE task ended with an exitstatus other than OK or ``WARNINGS: n``, or did not end in time."""

    def __init__(self, message: str, *, upid: str, timeout: bool = False, exitstatus: str = ""):
        super().__init__(message)
        self.upid = upid
        self.timeout = timeout
        self.exitstatus = exitstatus

    @property
    def locked(self) -> bool:
        """PVE checks the lock of start, stop, resize and destroy inside the task: a held
        lock is the task's exit status, as worth retrying as a locked request."""
        return is_lock_message(self.exitstatus)

    @property
    def id_taken(self) -> bool:
        """A qmclone worker found its new id taken by another clone that got the same
        /cluster/nextid (the placeholder config is written inside the task)."""
        return "config file already exists" in self.exitstatus or (
            "can't lock file" in self.exitstatus and "lock-" in self.exitstatus)


def is_lock_message(text: str) -> bool:
    return "is locked (" in text or "can't lock file" in text


def retryable(exc: BaseException) -> bool:
    """Lock contention and timeouts pass; anything else would fail again the same way."""
    if isinstance(exc, (PveError, TaskError)):
        return exc.locked
    return isinstance(exc, UnreachableError) and exc.timeout


def locked(exc: BaseException) -> bool:
    """Only lock contention, at request time or as a task's exit status."""
    return isinstance(exc, (PveError, TaskError)) and exc.locked
