"""One SSH connection to a device, running one command per channel, with host keys checked.

Exec channels (not an interactive shell with prompt scraping) keep a command and its
output and exit status together, and many can run over one connection. Host keys:
``record`` accepts a key seen for the first time and appends it to the known-hosts file
(the lab, where routers are created with fresh keys), ``require`` refuses any host
whose key is not already known (production). A changed key is refused in both.
"""

from __future__ import annotations

import fcntl
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko
from napalm.base.exceptions import ConnectionClosedException, ConnectionException

HOST_KEY_POLICIES = ("record", "require")
#: A wait on a channel is cut into slices this long, to notice an aborted connection.
RECV_SLICE_S = 0.5
#: How long an ended command's exit status may take to follow its output.
STATUS_WAIT_S = 5.0


class Unreachable(ConnectionException):
    """No SSH server answered at all (no route, refused, no TCP answer): the router, or
    the path to it, is down; nothing was said to it."""


class RecordNewHostKey(paramiko.MissingHostKeyPolicy):
    """Trust on first use: record the unknown key in ``known_hosts`` (under a file lock,
    as many connections may record at once)."""

    def __init__(self, known_hosts: Path):
        self.known_hosts = known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
        line = f"{hostname} {key.get_name()} {key.get_base64()}\n"
        with open(self.known_hosts, "a", encoding="ascii") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(line)
        client.get_host_keys().add(hostname, key.get_name(), key)


def known_keys(known_hosts: Path, host: str, port: int = 22) -> paramiko.HostKeys:
    """The keys ``known_hosts`` holds for ``host`` (none if the file does not exist yet):
    only its lines (and hashed ones, which cannot be matched before parsing) are parsed,
    as every connection reads the file and a province's file has a line per router."""
    name = host if port == 22 else f"[{host}]:{port}"
    keys = paramiko.HostKeys()
    try:
        handle = open(known_hosts, encoding="ascii", errors="replace")
    except FileNotFoundError:
        return keys
    with handle:
        for number, line in enumerate(handle, 1):
            names = line.split(" ", 1)[0]
            if not (names.startswith("|") or name in names.split(",")):
                continue
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line, number)
            if entry is not None and entry.key is not None:
                for pattern in entry.hostnames:
                    keys.add(pattern, entry.key.get_name(), entry.key)
    return keys


class RemoteProcess:
    """A command left running on a channel of its own: its input written and its output
    (stdout and stderr together) read as they come."""

    def __init__(self, channel: paramiko.Channel, where: str):
        self._channel, self.where = channel, where

    def send(self, data: bytes) -> None:
        """Write to its input. Nothing is written once it has ended: its end shows in
        :meth:`recv`, with its exit status."""
        if self._channel.exit_status_ready() or self._channel.closed:
            return
        try:
            self._channel.sendall(data)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise ConnectionClosedException(f"{self.where}: connection dropped ({exc or type(exc).__name__})") from None

    def recv(self, timeout: float) -> bytes:
        """Its next output within ``timeout`` s; b"" once it has ended (see
        :meth:`exit_status`). Waits in short slices, so a connection aborted from another
        thread (:meth:`SshSession.abort`) ends the wait at once whatever ``timeout`` is."""
        deadline = time.monotonic() + timeout
        while True:
            self._channel.settimeout(max(0.0, min(RECV_SLICE_S, deadline - time.monotonic())))
            try:
                return self._channel.recv(65536)
            except socket.timeout:
                transport = self._channel.get_transport()
                if transport is None or not transport.is_active():
                    raise ConnectionClosedException(f"{self.where}: connection lost") from None
                if time.monotonic() >= deadline:
                    raise ConnectionClosedException(f"{self.where}: no answer within {timeout:g} s") from None
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise ConnectionClosedException(f"{self.where}: connection dropped ({exc or type(exc).__name__})") from None

    def exit_status(self) -> int:
        """Its exit status, once its output has ended (-1 if the connection dropped first
        or no status came within a few seconds)."""
        if not self._channel.status_event.wait(STATUS_WAIT_S):
            return -1
        return self._channel.recv_exit_status()

    def close(self) -> None:
        """Close its channel: its input ends."""
        self._channel.close()


@dataclass
class CommandResult:
    status: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return (self.stdout + self.stderr).strip()


class SshSession:
    """An authenticated SSH connection to ``host`` as ``username``."""

    def __init__(self, host: str, username: str, password: str, *, port: int = 22, timeout: float = 10.0,
                 known_hosts: Path | None = None, host_keys: str = "require"):
        if host_keys not in HOST_KEY_POLICIES:
            raise ValueError(f"host_keys must be one of {HOST_KEY_POLICIES}, not {host_keys!r}")
        self.host, self.port, self.username, self.password = host, port, username, password
        self.timeout = timeout
        self.known_hosts = known_hosts
        self.host_keys = host_keys
        self.client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        return f"{self.username}@{self.host}:{self.port}"

    def open(self) -> None:
        client = paramiko.SSHClient()
        if self.known_hosts is not None:
            client.get_host_keys().update(known_keys(self.known_hosts, self.host, self.port))
        if self.host_keys == "record" and self.known_hosts is not None:
            client.set_missing_host_key_policy(RecordNewHostKey(self.known_hosts))
        else:
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                self.host, port=self.port, username=self.username, password=self.password, timeout=self.timeout,
                banner_timeout=self.timeout, auth_timeout=self.timeout, allow_agent=False, look_for_keys=False,
            )
        except paramiko.BadHostKeyException as exc:
            raise ConnectionException(f"{self.host}: host key CHANGED (expected {exc.expected_key.get_name()} in {self.known_hosts}); refusing to connect") from None
        except paramiko.AuthenticationException:
            raise ConnectionException(f"{self.where}: wrong credentials (authentication failed)") from None
        except paramiko.SSHException as exc:
            if "not found in known_hosts" in str(exc):
                raise ConnectionException(f"{self.host}: unknown SSH host key; add it to {self.known_hosts} after checking it") from None
            raise ConnectionException(f"{self.where}: SSH failed: {exc}") from None
        except (socket.timeout, TimeoutError):
            raise Unreachable(f"{self.host}:{self.port}: unreachable (no answer within {self.timeout:g} s)") from None
        except OSError as exc:
            raise Unreachable(f"{self.host}:{self.port}: unreachable ({exc.strerror or exc})") from None
        self.client = client

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def abort(self) -> None:
        """Drop the connection from any thread, without waiting on the peer: a wait on
        one of its channels ends at once (see :meth:`RemoteProcess.recv`)."""
        client = self.client
        transport = client.get_transport() if client is not None else None
        if transport is not None:
            transport.close()

    @property
    def alive(self) -> bool:
        transport = self.client.get_transport() if self.client else None
        return bool(transport and transport.is_active())

    def start(self, command: str) -> RemoteProcess:
        """Start ``command`` on a channel of its own and leave it running."""
        if not self.alive:
            raise ConnectionClosedException(f"{self.where}: connection is closed")
        try:
            with self._lock:
                channel = self.client.get_transport().open_session(timeout=self.timeout)
            channel.set_combine_stderr(True)
            channel.exec_command(command)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise ConnectionClosedException(f"{self.where}: connection dropped ({exc or type(exc).__name__})") from None
        return RemoteProcess(channel, self.where)

    def run(self, command: str, *, stdin: str | None = None, timeout: float | None = None) -> CommandResult:
        """Run ``command`` on its own channel, feeding ``stdin`` (without it, the command
        must not read its input); raise if the connection drops."""
        if not self.alive:
            raise ConnectionClosedException(f"{self.where}: connection is closed")
        try:
            with self._lock:  # opening channels is not thread-safe on one transport
                channel = self.client.get_transport().open_session(timeout=self.timeout)
            channel.settimeout(timeout or max(self.timeout, 60.0))
            channel.exec_command(command)
            if stdin is not None:
                # EOF only after stdin: the command is still reading it, so the channel is
                # open. An EOF sent on a channel the server has just closed (a quick
                # command) makes OpenSSH drop the whole connection ("ieof packet referred
                # to nonexistent channel"), every other channel on it included.
                channel.sendall(stdin.encode())
                channel.shutdown_write()
            stdout = channel.makefile("rb").read().decode(errors="replace")
            stderr = channel.makefile_stderr("rb").read().decode(errors="replace")
            if not channel.exit_status_ready() and not self.alive:
                raise ConnectionClosedException(f"{self.where}: connection dropped while running a command")
            status = channel.recv_exit_status()
            channel.close()
        except (paramiko.SSHException, EOFError, OSError, socket.timeout) as exc:
            raise ConnectionClosedException(f"{self.where}: connection dropped while running a command ({exc or type(exc).__name__})") from None
        if status == -1:
            raise ConnectionClosedException(f"{self.where}: connection dropped while running a command")
        return CommandResult(status, stdout, stderr)
