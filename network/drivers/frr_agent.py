"""hatang's FRR commit agent: runs ON the router (``python3 -I -S``: the standard library
and FRR's own ``frr-reload.py``, nothing of hatang's), started by the napalm FRR driver
through the admin shell. It exists so that a commit, and the revert timer of a
commit-confirm, never depend on the SSH connection that asked for them.

    frr_agent.py DIR PATHSPACE SUDO serve TOKEN   the driver's session: read requests, one a
                                                  line ("OP ARGS" or "vtysh COMMAND"), answer
                                                  each with its output and a line
                                                  "hatang-status TOKEN RC". Its own session
                                                  (setsid) and deaf to HUP and PIPE: a dropped
                                                  connection never stops a request half way;
                                                  the end of its input ends it.
    frr_agent.py DIR PATHSPACE SUDO revert        the revert timer's last step (see TIMER)

Operations:
  prepare FILE          the candidate -> FILE (the lines after the request, up to
                        "hatang-eof-TOKEN"); syntax-check it (status 3 if rejected) and print
                        the deltas running -> FILE in frr-reload --test's format (nothing
                        when there are none)
  commit FILE SECS [MERGE]
                        apply FILE all-or-nothing (replace; or, with a MERGE file, add its
                        lines); revert in SECS unless confirmed
  confirm               confirm the pending commit
  rollback              back to the configuration before the last commit
  pending               status 0 when a commit awaits confirmation
  vtysh COMMAND         one vtysh command; status 1 when vtysh printed an error

The deltas have ONE source: FRR's own parser and comparison, imported from
``frr-reload.py`` (``Config``, ``compare_context_objects``, ``lines_to_config``). The
candidate is read as frr-reload reads a file (``vtysh -m -f``, which also syntax-checks
it), the running configuration as frr-reload reads ``show running-config``; an apply
follows frr-reload --reload's two passes (deletions first, each retried shorter as
frr-reload does, then the additions), inside the session's one vtysh.

Files in DIR: FILE.log (what vtysh said during its apply; a session's FILE is
candidate-TOKEN.conf, removed when the session ends), previous.conf (running before the
last commit), pending (the revert timer's pid while a commit awaits confirmation),
reverting (while the timer or a rollback restores), lock (serialises every apply).

Cost matters: a province push runs this on 140-odd routers sharing the same CPUs, and
starting vtysh costs ~20 ms of CPU (it builds its whole command graph), a command to a
running vtysh well under 1 ms. So a session keeps ONE vtysh running for every read,
apply and save, and starts another only to read a candidate (``vtysh -m``). Every wait
has a deadline.
"""

from __future__ import annotations

import fcntl
import marshal
import os
import re
import select
import signal
import subprocess
import sys
import time
import types
import warnings

RELOAD_PY = "/usr/lib/frr/frr-reload.py"
#: Exit statuses (the driver reads them).
OK, ERROR, REJECTED, NOT_PENDING, NO_RUNNING, MIXED, SOFTWARE, CANNOT_RUN = 0, 1, 3, 4, 5, 6, 70, 72
#: Bounds of every wait: one vtysh command, one vtysh start or read of a candidate, the
#: lock every apply takes, a session with no request at all.
COMMAND_S, START_S, LOCK_S, IDLE_S = 120.0, 60.0, 300.0, 3600.0
#: What configuration does not change: frr-reload ignores their deletion, and FRR 8
#: takes the hostname from the OS (see same_hostname).
HEADER = re.compile(r"^(Building configuration\.\.\.|Current configuration:)$")
ERROR_LINE = re.compile(r"^(% |line \d+: % )")
#: A line vtysh logs on its own (zlog: "2026/12/05 15:57:55 [PHJDC-499N2][EC 100663314]
#: STARVATION: …" when the CPU is starved), printed into the stream wherever it falls,
#: after a prompt too: never a command's output.
LOG_LINE = re.compile(r"^(?:\S+# )?\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[[0-9A-Z]{5}-[0-9A-Z]{5}\]")
#: The revert timer, as small as it can be: it must outlive the SSH session and the
#: agent, and it only sleeps; when it fires unconfirmed it hands over to this agent. It
#: reverts only the commit that armed it (``pending`` holds its pid): a timer that
#: outlived its confirm never reverts a later commit.
TIMER = ('sleep "$1" && cd "$2" && [ "$(cat pending 2>/dev/null)" = "$$" ] && mv pending reverting 2>/dev/null'
         ' && exec python3 -I -S "$2/frr_agent.py" "$2" "$3" "$4" revert')


class AgentError(Exception):
    """A request that failed: its message is the answer, ``status`` its exit status."""

    def __init__(self, message: str, status: int = ERROR):
        super().__init__(message)
        self.status = status


def load_reload(path: str = RELOAD_PY, cache_dir: str | None = None):
    """FRR's frr-reload.py as a module (its command line never runs). Its compiled code
    is kept in ``cache_dir`` (if given; keyed by the file and this Python), never
    beside it; its old regexes' escape warnings are not ours to print."""
    module = types.ModuleType("frr_reload")
    module.__file__ = path
    stat = os.stat(path)
    cache = os.path.join(cache_dir, f"frr-reload.{stat.st_mtime_ns}.{stat.st_size}.{sys.implementation.cache_tag}.code") if cache_dir else ""
    code = None
    if cache:
        try:
            with open(cache, "rb") as handle:
                code = marshal.load(handle)
        except (OSError, EOFError, ValueError):
            pass  # not cached yet
    if code is None:
        with open(path, encoding="utf-8") as source, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            code = compile(source.read(), path, "exec")
        if cache:
            try:
                with open(f"{cache}.{os.getpid()}", "wb") as handle:
                    marshal.dump(code, handle)
                os.replace(f"{cache}.{os.getpid()}", cache)
            except OSError:
                pass  # no cache: compiled again next time
    exec(code, module.__dict__)
    return module


# -- the engine: frr-reload's parser and comparison -------------------------------------


class Reader:
    """What frr-reload's ``Config`` asks of its ``Vtysh`` to read a configuration: a file
    marked by ``vtysh -m -f`` (which rejects any line vtysh does not know), or the
    running configuration as this session read it (FRR prints it marked already)."""

    def __init__(self, reload, vtysh: list[str], running: str = ""):
        self.reload, self.vtysh, self.running = reload, vtysh, running

    def mark_file(self, filename: str, stdin=None) -> str:
        try:
            proc = subprocess.run([*self.vtysh, "-m", "-f", filename], capture_output=True, text=True, timeout=START_S)
        except subprocess.TimeoutExpired:
            raise self.reload.VtyshException(f"vtysh -m gave no answer within {START_S:g} s") from None
        if proc.returncode != 0:
            raise self.reload.VtyshException((proc.stderr + proc.stdout).strip() or f"vtysh -m exited with status {proc.returncode}")
        return proc.stdout

    def mark_show_run(self, daemon=None) -> str:
        return self.running


def read_file(reload, vtysh: list[str], path: str):
    """The configuration in ``path`` as frr-reload reads a candidate (syntax-checked)."""
    config = reload.Config(Reader(reload, vtysh))
    config.load_from_file(path)
    return config


def read_running(reload, text: str):
    """A running configuration (``show running-config``'s output) as frr-reload reads it."""
    config = reload.Config(Reader(reload, [], text))
    config.load_from_show_running(None)
    return config


def compare(reload, new, running) -> tuple[list, list]:
    """frr-reload's (lines to add, lines to delete) from ``running`` to ``new``."""
    return reload.compare_context_objects(new, running)


def commands(reload, deltas: list, delete: bool) -> list[list[str]]:
    """Each delta as the configuration lines that perform it (frr-reload's own)."""
    return [reload.lines_to_config(keys, line, delete) for keys, line in deltas if line != "!"]


def report(reload, add: list, delete: list) -> str:
    """The deltas in frr-reload --test's format; "" when there are none."""
    text = ""
    if delete:
        text += "\nLines To Delete\n===============\n" + "".join("\n".join(c) + "\n" for c in commands(reload, delete, True))
    if add:
        text += "\nLines To Add\n============\n" + "".join("\n".join(c) + "\n" for c in commands(reload, add, False))
    return text


def same_hostname(candidate: str, running: str) -> str:
    """FRR 8 takes its hostname from the OS (the router's UTS namespace) and cannot
    change it from configuration: the candidate with the running hostname, so applies
    never fight over it."""
    host = next((line for line in running.splitlines() if line.startswith("hostname ")), None)
    if host is None:
        return candidate
    return "\n".join(host if line.startswith("hostname ") else line for line in candidate.split("\n"))


# -- the session's one vtysh --------------------------------------------------------------


class Vtysh:
    """One vtysh kept running on pipes. A command goes in followed by a marker line:
    vtysh echoes each line after its prompt and answers the marker "% Unknown command:
    <marker>", so the command's output is what lies between its echo and the marker's."""

    def __init__(self, argv: list[str]):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buffer, self.marks = b"", 0
        self._until_mark(self._mark(), time.monotonic() + START_S)  # past its greeting

    def _mark(self) -> str:
        self.marks += 1
        return f"hatang-mark-{self.marks}"

    def _line(self, deadline: float) -> str:
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.proc.stdout], [], [], remaining)[0]:
                raise AgentError("vtysh gave no answer in time", NO_RUNNING)
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise AgentError("vtysh ended", NO_RUNNING)
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode(errors="replace")

    def _until_mark(self, mark: str, deadline: float) -> list[str]:
        """The lines before vtysh's answer to ``mark`` ("% Unknown command: <mark>"),
        its own log lines left out; the last is the marker's echo. The answer, not the
        echo, ends the wait: a log line can take the echo's prompt."""
        self._send(f"{mark}\n")
        lines = []
        while (line := self._line(deadline)) != f"% Unknown command: {mark}":
            if not LOG_LINE.match(line):
                lines.append(line)
        return lines

    def _send(self, text: str) -> None:
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
        except OSError:
            raise AgentError("vtysh ended", NO_RUNNING) from None

    def run(self, command: str, timeout: float = COMMAND_S) -> tuple[bool, str]:
        """(no error, output) of one command."""
        deadline = time.monotonic() + timeout
        self._send(command + "\n")
        out = self._until_mark(self._mark(), deadline)[1:-1]  # less the command's echo and the marker's
        return not any(ERROR_LINE.match(line) for line in out), "".join(line + "\n" for line in out)

    def running(self) -> str:
        ok, text = self.run("show running-config")
        if not ok:
            raise AgentError("cannot read the running configuration", NO_RUNNING)
        return "".join(line + "\n" for line in text.splitlines() if not HEADER.match(line))

    def configure(self, lines: list[str]) -> tuple[bool, str]:
        """Lines in configuration mode (each context line enters its node)."""
        results = [self.run(line) for line in ["configure terminal", *lines, "end"]]
        return all(ok for ok, _ in results), "".join(text for _, text in results)

    def close(self) -> None:
        """End it with its input (at once if it answers no more)."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=START_S)


# -- the agent ----------------------------------------------------------------------------


class Agent:
    def __init__(self, directory: str, pathspace: str, sudo: str):
        self.dir, self.pathspace, self.sudo = directory, pathspace, sudo
        self.vtysh_argv = [*sudo.split(), "vtysh", "-N", pathspace]
        self.reload = load_reload(cache_dir=os.path.dirname(directory.rstrip("/")))
        self.session: Vtysh | None = None
        self.prepared: dict[str, tuple[str, list, list]] = {}  # file -> (running, add, delete)
        self.read: dict[str, tuple[str, object]] = {}  # file -> (its text, as frr-reload read it)

    @property
    def vt(self) -> Vtysh:
        if self.session is None:
            self.session = Vtysh(self.vtysh_argv)
        return self.session

    def path(self, name: str) -> str:
        if "/" in name or name.startswith("."):
            raise AgentError(f"not a file of the agent's directory: {name!r}", SOFTWARE)
        return os.path.join(self.dir, name)

    def deltas(self, path: str, running: str) -> tuple[list, list]:
        """frr-reload's deltas from ``running`` to the configuration in ``path`` (the
        running hostname kept); AgentError(REJECTED) when vtysh rejects a line. A file
        is read (a vtysh start) once while its text stays the same."""
        with open(path, encoding="utf-8") as handle:
            candidate = same_hostname(handle.read(), running)
        if self.read.get(path, ("",))[0] != candidate:
            with open(path + ".apply", "w", encoding="utf-8") as handle:
                handle.write(candidate)
            try:
                self.read[path] = (candidate, read_file(self.reload, self.vtysh_argv, path + ".apply"))
            except self.reload.VtyshException as exc:
                raise AgentError(str(exc), REJECTED) from None
        return compare(self.reload, self.read[path][1], read_running(self.reload, running))

    # -- operations --

    def prepare(self, name: str, candidate: str) -> str:
        path = self.path(name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(candidate)
        running = self.vt.running()
        add, delete = self.deltas(path, running)
        self.prepared[name] = (running, add, delete)
        return report(self.reload, add, delete)

    def apply(self, name: str, running: str) -> str:
        """Make the configuration in ``name`` the running one, from ``running``, by
        frr-reload --reload's two passes (deletions only in the first; the second adds
        what is still missing, the first pass's additions again). "" when it settled,
        else the leftovers (frr-reload --test's format). What vtysh said -> name.log."""
        path = self.path(name)
        prepared = self.prepared.pop(name, None)
        add, delete = prepared[1:] if prepared and prepared[0] == running else self.deltas(path, running)
        first_add = add
        with open(path + ".log", "w", encoding="utf-8") as log:
            for delete_lines in commands(self.reload, delete, True):
                log.write(self.delete(delete_lines))
            for attempt in range(2):
                if attempt:
                    add, delete = self.deltas(path, self.vt.running())
                    if not add and not delete:
                        return ""
                    add = add + first_add
                lines = [line for c in commands(self.reload, add, False) if not (attempt and c[0].startswith("no ")) for line in c]
                if lines:
                    log.write(self.add(name, lines))
        add, delete = self.deltas(path, self.vt.running())
        return report(self.reload, add, delete)

    def delete(self, lines: list[str]) -> str:
        """One deletion, as frr-reload --reload makes it: when FRR refuses the whole "no"
        line (OSPF…), the same without its last word, down to two words."""
        lines = list(lines)
        while True:
            ok, said = self.vt.configure(lines)
            last = lines[-1].split(" ")
            if ok or len(last) <= 2:
                return said
            lines[-1] = " ".join(last[:-1])

    def add(self, name: str, lines: list[str]) -> str:
        path = self.path(name) + ".add"
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        return self.vt.run(f"copy {path} running-config")[1]

    def save(self) -> str:
        ok, said = self.vt.run("write memory")
        return "" if ok else f"warning: write memory failed: {(said.strip().splitlines() or [''])[-1]}\n"

    def restore(self) -> str:
        """previous.conf back in place; AgentError when some lines do not take."""
        leftovers = self.apply("previous.conf", self.vt.running())
        if leftovers:
            raise AgentError("restore of the previous configuration left deltas:\n" + leftovers, MIXED)
        return ""

    def commit(self, name: str, secs: str, merge: str = "") -> str:
        if os.path.exists(self.path("pending")):
            raise AgentError("a commit is already pending confirmation", NOT_PENDING)
        running = self.vt.running()
        with open(self.path("previous.conf"), "w", encoding="utf-8") as handle:
            handle.write(running)
        if merge:
            try:
                read_file(self.reload, self.vtysh_argv, self.path(merge))  # prepare checked the whole candidate; the lines too
            except self.reload.VtyshException as exc:
                raise AgentError(str(exc), REJECTED) from None
            ok, said = self.interrupted_apply(lambda: self.vt.run(f"copy {self.path(merge)} running-config"))
            if not ok:
                self.failed("the device did not take every line:\n" + said)
        else:
            leftovers = self.interrupted_apply(lambda: self.apply(name, running))
            if leftovers:
                with open(self.path(name) + ".log", encoding="utf-8") as log:
                    said = "".join(line for line in log if re.search("error|fail|unknown", line, re.I))
                self.failed("the device did not take every line; left over after the reload:\n" + leftovers + said)
        if int(secs) > 0:
            with open(self.path("timer.log"), "w", encoding="utf-8") as log:
                timer = subprocess.Popen(["sh", "-c", TIMER, "timer", secs, self.dir, self.pathspace, self.sudo or "-"],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            with open(self.path("pending.new"), "w", encoding="ascii") as handle:
                handle.write(f"{timer.pid}\n")
            os.replace(self.path("pending.new"), self.path("pending"))  # whole: a confirm never reads it empty
            return "committed\n"
        return self.save() + "committed\n"

    def interrupted_apply(self, apply):
        """``apply()``, and if vtysh stops answering part way (the changes made so far
        unknown), the previous configuration back through a new vtysh: all or nothing."""
        try:
            return apply()
        except AgentError as exc:
            if exc.status != NO_RUNNING:
                raise
            self.close()
            self.failed(f"the apply did not finish: {exc}")

    def failed(self, message: str):
        """A commit that did not take: the previous configuration back, then the error."""
        try:
            self.restore()
        except AgentError as exc:
            raise AgentError(f"{message}\n{exc}", MIXED) from None
        raise AgentError(f"{message}\nrestored the previous configuration", REJECTED)

    def confirm(self) -> str:
        timer = self.take_timer("confirmed")
        if timer is None:
            raise AgentError("no commit is pending confirmation (the revert timer may have fired)", NOT_PENDING)
        os.remove(self.path("confirmed"))
        return self.save() + "confirmed\n"

    def take_timer(self, into: str) -> int | None:
        """Move the pending mark to ``into`` and stop the timer; its pid, None if none."""
        try:
            os.rename(self.path("pending"), self.path(into))
        except FileNotFoundError:
            return None
        with open(self.path(into), encoding="ascii") as handle:
            pid = int(handle.read().strip() or 0)
        if pid > 0:
            try:
                os.killpg(pid, signal.SIGTERM)  # the timer and its sleep (its own session)
            except ProcessLookupError:
                pass
        return pid

    def rollback(self) -> str:
        if not os.path.exists(self.path("previous.conf")):
            raise AgentError("no previous configuration to roll back to", NOT_PENDING)
        try:
            return self.restore()
        finally:
            try:
                os.remove(self.path("reverting"))
            except FileNotFoundError:
                pass
            self.save()

    def pending(self) -> str:
        if os.path.exists(self.path("pending")) or os.path.exists(self.path("reverting")):
            return ""
        raise AgentError("", ERROR)

    def locked(self, method, *args) -> str:
        """Run ``method`` holding the lock every apply takes (waiting at most LOCK_S)."""
        with open(self.path("lock"), "w", encoding="ascii") as lock:
            deadline = time.monotonic() + LOCK_S
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise AgentError(f"another apply held the lock for {LOCK_S:g} s", ERROR) from None
                    time.sleep(0.05)
            return method(*args)

    def request(self, line: str, read_candidate) -> tuple[int, str]:
        """One request of a session: (status, output)."""
        words = line.split()
        op, args = (words[0], words[1:]) if words else ("", [])
        try:
            if op == "vtysh":
                ok, said = self.vt.run(line.removeprefix("vtysh "))
                return (OK if ok else ERROR), said
            if op == "prepare":
                candidate = read_candidate()
                if candidate is None:
                    return SOFTWARE, "the candidate did not arrive whole\n"
                return OK, self.prepare(args[0], candidate)
            if op == "commit":
                return OK, self.locked(self.commit, *args)
            if op == "confirm":
                return OK, self.confirm()
            if op == "rollback":
                self.take_timer("reverting")
                return OK, self.locked(self.rollback)
            if op == "pending":
                return OK, self.pending()
            return ERROR, f"unknown request: {line}\n"
        except AgentError as exc:
            if exc.status == NO_RUNNING:
                self.close()  # out of step with its vtysh: the next request starts another
            return exc.status, f"{exc}\n" if str(exc) else ""
        except Exception as exc:  # the session goes on; the driver reads what went wrong
            return SOFTWARE, f"the agent failed: {type(exc).__name__}: {exc}\n"

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


# -- entry points ---------------------------------------------------------------------------


class Requests:
    """The session's input, one line at a time, each wait bounded by IDLE_S."""

    def __init__(self, fd: int = 0):
        self.fd, self.buffer = fd, b""

    def line(self) -> str | None:
        while b"\n" not in self.buffer:
            if not select.select([self.fd], [], [], IDLE_S)[0]:
                return None  # a session with no request for IDLE_S: over
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode(errors="replace")

    def until(self, end: str) -> str | None:
        lines = []
        while (line := self.line()) is not None:
            if line == end:
                return "".join(l + "\n" for l in lines)
            lines.append(line)
        return None


def serve(agent: Agent, token: str) -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    requests = Requests()
    try:
        while (line := requests.line()) is not None:
            status, output = agent.request(line, lambda: requests.until(f"hatang-eof-{token}"))
            try:
                sys.stdout.buffer.write(f"{output}\nhatang-status {token} {status}\n".encode())
                sys.stdout.buffer.flush()
            except OSError:
                pass  # the connection is gone: the request was still done whole
    finally:
        agent.close()
        for name in os.listdir(agent.dir):
            if name.startswith((f"candidate-{token}.conf", f"merge-{token}.conf")):
                os.remove(os.path.join(agent.dir, name))


def main(argv: list[str]) -> int:
    directory, pathspace, sudo, op, *args = argv
    sudo = "" if sudo == "-" else sudo
    os.chdir(directory)
    if not os.path.isfile(RELOAD_PY):
        sys.stdout.write(f"FRR's {RELOAD_PY} is missing on the router (Debian's package frr-pythontools): it computes every delta\n")
        return CANNOT_RUN
    agent = Agent(directory, pathspace, sudo)
    if op == "serve":
        serve(agent, args[0])
        return OK
    if op == "revert":  # the timer fired unconfirmed (it moved pending to reverting)
        status, output = agent.request("rollback", lambda: None)
        agent.close()
        sys.stdout.write(f"reverted without confirmation (status {status})\n{output}")
        return status
    sys.stdout.write(f"unknown operation {op}\n")
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
