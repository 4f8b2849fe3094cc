"""The lab's process registry: every daemon the lab starts, by pid and start time.

A pid alone is not an identity (pids are reused); the pair (pid, start time since boot,
field 22 of ``/proc/PID/stat``) is. The registry is a JSON file in the lab's state
directory, rewritten atomically under a file lock, so ``hatang lab down`` kills exactly
what ``up`` started, even after a crash, and never a stranger that inherited a pid.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hatang.errors import HatangError


@dataclass(frozen=True)
class Spawn:
    """What to start: a named daemon, in the foreground, optionally in a namespace."""

    name: str
    argv: Sequence[str]
    netns: str | None = None
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    log: Path | None = None
    hostname: str | None = None  # run in its own UTS namespace with this host name
    # With ``netns``: True runs it through ``ip netns exec`` (a mount namespace of its own,
    # where /sys shows the namespace's interfaces: a copy of the host's mount table, one
    # mount per lab namespace, at every start); False enters the network namespace only,
    # for daemons that read their interfaces from netlink and /proc alone (FRR, sshd, snmpd).
    own_sysfs: bool = True


@dataclass(frozen=True)
class Process:
    """A started daemon as recorded: enough to find it again and to know it is still it."""

    name: str
    pid: int
    starttime: int
    argv: list[str] = field(default_factory=list)
    netns: str | None = None


def proc_starttime(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks since boot), None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def is_alive(proc: Process) -> bool:
    return proc_starttime(proc.pid) == proc.starttime


def _reap(pid: int) -> None:
    """Collect a child that died, if it is ours (a daemon started by this very process)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _signal(proc: Process, sig: int) -> None:
    if is_alive(proc):
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass


def terminate(procs: Sequence[Process], timeout_s: float = 5.0) -> None:
    """TERM every process still alive (and CONT it, a stopped one would never act on TERM),
    wait for them together, then KILL those left."""
    for proc in procs:
        _signal(proc, signal.SIGTERM)
        _signal(proc, signal.SIGCONT)
    deadline = time.monotonic() + timeout_s
    left = list(procs)
    while left and time.monotonic() < deadline:
        for proc in left:
            _reap(proc.pid)
        left = [p for p in left if is_alive(p)]
        if left:
            time.sleep(0.05)
    for proc in left:
        _signal(proc, signal.SIGKILL)
    for proc in left:
        _reap(proc.pid)


class Registry:
    """``processes.json`` in the lab's state directory: name → :class:`Process`."""

    def __init__(self, directory: Path):
        self.path = directory / "processes.json"
        self._lock_path = directory / ".processes.lock"

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Process]]:
        """Read, let the caller change, write back atomically; one writer at a time."""
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            procs = self.read()
            try:
                yield procs
            finally:  # an interrupted spawn still records what it started
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps({n: vars(p) for n, p in procs.items()}, indent=1))  # vars: asdict deep-copies
                os.replace(tmp, self.path)

    def read(self) -> dict[str, Process]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
        except json.JSONDecodeError as exc:
            raise HatangError(f"the lab's process registry {self.path} is corrupt: {exc}") from exc
        return {name: Process(**entry) for name, entry in data.items()}

    def spawn(self, specs: Iterable[Spawn]) -> list[Process]:
        """Start every spec not already running and record them; returns the processes
        (already running ones included, as recorded)."""
        result: list[Process] = []
        with self._locked() as procs:
            for spec in specs:
                known = procs.get(spec.name)
                if known is not None and is_alive(known):
                    result.append(known)
                    continue
                proc = _start(spec)
                procs[spec.name] = proc
                result.append(proc)
        return result

    def select(self, prefix: str = "") -> list[Process]:
        return [p for n, p in self.read().items() if n.startswith(prefix)]

    def stop(self, prefix: str = "", *, exact: bool = False, timeout_s: float = 5.0) -> list[str]:
        """Stop the recorded processes named ``prefix`` (or starting with it) and forget them."""
        with self._locked() as procs:
            chosen = [p for n, p in procs.items() if (n == prefix if exact else n.startswith(prefix))]
            terminate(chosen, timeout_s)
            for proc in chosen:
                del procs[proc.name]
        return [p.name for p in chosen]


_CLONE_NEWUTS = 0x04000000
_CLONE_NEWNET = 0x40000000
_libc = None


def _syscalls():
    import ctypes

    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        import ctypes

        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _own_hostname(name: str):
    """A pre-exec hook: a private UTS namespace named ``name`` (a router's daemons and its
    SSH sessions see their device's name in uname, prompts, sysDescr and FRR's hostname)."""
    libc = _syscalls()
    encoded = name.encode()

    def hook() -> None:
        _check(libc.unshare(_CLONE_NEWUTS), f"a new UTS namespace for {name}")
        _check(libc.sethostname(encoded, len(encoded)), f"the host name {name}")

    return hook


@contextmanager
def _entered(netns: str | None, hostname: str | None) -> Iterator[None]:
    """This thread in ``netns``'s network namespace and in a new UTS namespace named
    ``hostname``, back in its own ones after: a child forked meanwhile starts in them,
    so the daemon is started with vfork and without ``ip netns exec`` (namespaces are
    per thread: the process's other threads are not moved)."""
    libc = _syscalls()
    own = {kind: os.open(f"/proc/thread-self/ns/{kind}", os.O_RDONLY) for kind in ("net", "uts")}
    try:
        if netns:
            target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                _check(libc.setns(target, _CLONE_NEWNET), f"entering the network namespace {netns}")
            finally:
                os.close(target)
        if hostname:
            _own_hostname(hostname)()
        yield
    finally:
        try:  # a thread left in a router's namespaces would start everything there
            _check(libc.setns(own["net"], _CLONE_NEWNET), "returning to the host's network namespace")
            _check(libc.setns(own["uts"], _CLONE_NEWUTS), "returning to the host's UTS namespace")
        finally:
            for fd in own.values():
                os.close(fd)


def _start(spec: Spawn) -> Process:
    through_ip = bool(spec.netns) and spec.own_sysfs
    argv = [*(["ip", "netns", "exec", spec.netns] if through_ip else []), *spec.argv]
    log = open(spec.log, "ab") if spec.log else subprocess.DEVNULL
    env = {**os.environ, **spec.env} if spec.env else None
    try:
        if through_ip:  # the host name is set after ip's fork: a hook, so a full fork
            popen = _popen(argv, log, env, spec.cwd, _own_hostname(spec.hostname) if spec.hostname else None)
        else:  # no hook: Python starts it with vfork, the big hatang process is not copied
            with _entered(spec.netns, spec.hostname):
                popen = _popen(argv, log, env, spec.cwd, None)
    except OSError as exc:
        raise HatangError(f"cannot start {spec.name}: {exc.filename or argv[0]}: {exc.strerror}") from exc
    finally:
        if spec.log:
            log.close()
    starttime = None
    for _ in range(100):  # /proc/PID appears at fork; a few ms at most
        starttime = proc_starttime(popen.pid)
        if starttime is not None:
            break
        if popen.poll() is not None:
            break
        time.sleep(0.001)
    if starttime is None:
        raise HatangError(f"{spec.name} exited at once (status {popen.poll()}): {' '.join(argv)}", details=[f"log: {spec.log}"] if spec.log else [])
    return Process(spec.name, popen.pid, starttime, list(spec.argv), spec.netns)


def _popen(argv: list[str], log, env, cwd: Path | None, hook) -> subprocess.Popen:
    return subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        env=env, cwd=cwd, start_new_session=True, close_fds=True, preexec_fn=hook,
    )
