"""napalm driver for FRRouting, in napalm's community-driver shape (``napalm_frr``).

Two SSH logins per router, as an operator would have them:

- the network user, whose login is vtysh: every getter (``show … json``);
- the admin user, whose login is a shell in the router's namespace with python3,
  allowed to run ``vtysh -N <pathspace>`` (as a member of FRR's groups) and to read
  FRR's ``/usr/lib/frr/frr-reload.py``: the configuration lifecycle and ``ping``.

The configuration lifecycle runs in a small Python agent on the router
(``frr_agent.py``, standard library only), one per driver session, started on the admin
login's first need and answering requests on its own channel. FRR's own
``frr-reload.py`` parser and comparison, imported by the agent, is the one engine for
every delta (compare, replace, the check after an apply, rollback); the
commit is all or nothing (syntax-checked first; after the apply, any line the daemons
did not take puts the previous configuration back), and a commit with ``revert_in``
leaves a timer ON THE ROUTER that restores the previous configuration unless
confirmed. The agent runs in a session of its own and finishes any request it has
begun, so a connection that drops mid-commit never leaves a router half configured: it
ends on its old configuration or on the new one. The agent keeps one vtysh running for
the session; with ``vtysh_via=admin`` the getters use it too (a vtysh start costs more
CPU than everything a push asks of it).

optional_args: ``pathspace`` (default: hostname given to the driver's ``name`` arg or
the host), ``admin_username``/``admin_password``, ``port`` (22), ``known_hosts`` (file),
``host_keys`` (``require`` default, ``record`` to trust on first use), ``sudo``
(command prefix for vtysh in the admin shell, e.g. ``sudo -n``; default none), ``workdir`` (agent directory in the admin's home, default ``.hatang-frr/<pathspace>``),
``vtysh_via`` (``login``: the network user's shell is vtysh; ``admin``: run vtysh from
the admin shell).

Extra getter: :meth:`FRRDriver.get_ospf_neighbors`.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import threading
import time
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

from napalm.base import NetworkDriver
from napalm.base.exceptions import (
    CommandErrorException,
    CommitConfirmException,
    CommitError,
    ConnectionClosedException,
    MergeConfigException,
    ReplaceConfigException,
)

from hatang.network.drivers import frr_parse
from hatang.network.drivers.ssh import CommandResult, RemoteProcess, SshSession

AGENT = (Path(__file__).parent / "frr_agent.py").read_text()
#: Exit statuses of the agent (see frr_agent.py).
REJECTED, NOT_PENDING, NO_RUNNING, MIXED = 3, 4, 5, 6
#: Exit statuses of a session's first exec: the agent could not be installed; it cannot
#: run (no frr-reload.py: see frr_agent.py); the shell found no python3.
AGENT_NOT_INSTALLED, AGENT_CANNOT_RUN, NO_PYTHON = 71, 72, 127


def agent_workdir(pathspace: str) -> str:
    """The agent's directory in the admin's home, by default (``workdir``)."""
    return f".hatang-frr/{pathspace}"


class CommitInterrupted(CommitError):
    """The connection dropped while the router was committing. The router finishes the
    commit by itself, all or nothing (and reverts it if a timer was asked for)."""


class FRRDriver(NetworkDriver):
    platform = "frr"

    def __init__(self, hostname: str, username: str, password: str, timeout: int = 60, optional_args: dict | None = None):
        self.hostname, self.username, self.password, self.timeout = hostname, username, password, timeout
        args = optional_args or {}
        self.pathspace: str = args.get("pathspace") or hostname
        self.port = int(args.get("port", 22))
        self.known_hosts = Path(args["known_hosts"]) if args.get("known_hosts") else None
        self.host_keys: str = args.get("host_keys", "require")
        self.admin_username: str | None = args.get("admin_username")
        self.admin_password: str | None = args.get("admin_password")
        self.sudo: str = args.get("sudo", "")
        self.workdir: str = args.get("workdir") or agent_workdir(self.pathspace)
        self.vtysh_via: str = args.get("vtysh_via", "login")
        self._vtysh_session: SshSession | None = None
        self._admin_session: SshSession | None = None
        self._agent_process: RemoteProcess | None = None
        self._agent_token = ""
        self._agent_lock = threading.Lock()
        self._candidate: str | None = None  # "replace" or "merge" once loaded
        self._deltas = ""  # the candidate's deltas, computed when it was loaded

    # -- sessions -----------------------------------------------------------------

    def _session(self, username: str, password: str) -> SshSession:
        session = SshSession(self.hostname, username, password, port=self.port, timeout=min(self.timeout, 15),
                             known_hosts=self.known_hosts, host_keys=self.host_keys)
        session.open()
        return session

    def open(self) -> None:
        if self.vtysh_via == "login":
            self._vtysh_session = self._session(self.username, self.password)
        if self.admin_username:
            self._admin_session = self._session(self.admin_username, self.admin_password or "")
        elif self.vtysh_via == "admin":
            raise ConnectionClosedException(f"{self.hostname}: vtysh_via=admin needs admin_username/admin_password")

    def close(self) -> None:
        self._stop_agent()
        for session in (self._vtysh_session, self._admin_session):
            if session is not None:
                session.close()
        self._vtysh_session = self._admin_session = None

    def abort(self) -> None:
        """Drop both logins from any thread (a push's step outlived its bound): whatever
        waits on the router fails at once. The driver must still be closed."""
        for session in (self._vtysh_session, self._admin_session):
            if session is not None:
                session.abort()

    def is_alive(self) -> dict[str, bool]:
        sessions = [s for s in (self._vtysh_session, self._admin_session) if s is not None]
        return {"is_alive": bool(sessions) and all(s.alive for s in sessions)}

    @property
    def _admin(self) -> SshSession:
        if self._admin_session is None:
            raise ConnectionClosedException(f"{self.hostname}: configuration changes need the admin login (optional_args admin_username/admin_password)")
        return self._admin_session

    def _vtysh(self, commands: list[str]) -> str:
        """Run vtysh commands and return their output; raise on a command vtysh rejects."""
        script = "\n".join(commands)
        if self.vtysh_via == "login":
            result = self._vtysh_session.run(script) if self._vtysh_session else None
            if result is None:
                raise ConnectionClosedException(f"{self.hostname}: not open")
            results = [result]
        else:
            if any("\n" in command for command in commands):
                raise CommandErrorException(f"{self.hostname}: a vtysh command is one line: {script!r}")
            results = [self._agent("vtysh", command) for command in commands]
        for result in results:
            if result.status != 0 or "% Unknown command" in result.stdout:
                raise CommandErrorException(f"{self.hostname}: vtysh refused {script!r}: {result.text}")
        return "".join(result.stdout for result in results)

    def _json(self, command: str) -> Any:
        return json.loads(self._vtysh([command]) or "{}")

    # -- the agent ------------------------------------------------------------------

    def _start_agent(self) -> None:
        """Install the agent and start its session (once per driver session, or again
        after it was lost), in one SSH exec (the agent's text as an argument)."""
        if self._agent_process is not None:
            return
        self._agent_token = secrets.token_hex(8)
        workdir = f'"$HOME"/{self.workdir}'
        install = f"mkdir -p {workdir} && printf '%s' {shlex.quote(AGENT)} > {workdir}/frr_agent.py.new && mv {workdir}/frr_agent.py.new {workdir}/frr_agent.py"
        serve = f"exec setsid -w python3 -I -S {workdir}/frr_agent.py {workdir} {shlex.quote(self.pathspace)} {shlex.quote(self.sudo or '-')} serve {self._agent_token}"
        self._agent_process = self._admin.start(f"{install} || exit {AGENT_NOT_INSTALLED}\n{serve}")

    def _stop_agent(self) -> None:
        if self._agent_process is not None:
            self._agent_process.close()  # its input ends, and so does it
            self._agent_process = None
            self._candidate = None  # its files go with it

    def _session_file(self, kind: str) -> str:
        """The name of this session's ``kind`` file in the agent's directory (removed
        when the agent ends): two sessions on one router never share a candidate."""
        with self._agent_lock:
            self._start_agent()
            return f"{kind}-{self._agent_token}.conf"

    def _agent(self, *words: str, stdin: str | None = None, timeout: float = 120.0) -> CommandResult:
        """One request to the session's agent (started on first need): its output and
        status. ``stdin``: the text that follows the request (prepare's candidate)."""
        with self._agent_lock:
            self._start_agent()
            process, token = self._agent_process, self._agent_token
            data = " ".join(words) + "\n"
            if stdin is not None:
                data += stdin + ("" if stdin.endswith("\n") or not stdin else "\n") + f"hatang-eof-{token}\n"
            status = re.compile(rb"\nhatang-status " + token.encode() + rb" (\d+)\n")
            output = b""
            try:
                process.send(data.encode())
                deadline = time.monotonic() + timeout
                while (found := status.search(output)) is None:
                    if (remaining := deadline - time.monotonic()) <= 0:
                        raise ConnectionClosedException(f"{self.hostname}: the commit agent gave no answer to {words[0]!r} within {timeout:g} s")
                    chunk = process.recv(timeout=remaining)
                    if not chunk:
                        raise self._agent_ended(process.exit_status(), output)
                    output += chunk
            except Exception:
                self._stop_agent()  # out of step with its requests: the next starts another
                raise
        return CommandResult(int(found.group(1)), output[: found.start()].decode(errors="replace"), "")

    def _agent_ended(self, status: int, output: bytes) -> Exception:
        text = output.decode(errors="replace").strip()
        if status == AGENT_NOT_INSTALLED:
            return CommitError(f"{self.hostname}: cannot install the commit agent in ~{self.admin_username}/{self.workdir}: {text}")
        if status in (AGENT_CANNOT_RUN, NO_PYTHON):
            return CommitError(f"{self.hostname}: the commit agent cannot run (it needs python3 and FRR's frr-reload.py on the router): {text}")
        return ConnectionClosedException(f"{self.hostname}: the commit agent ended (status {status}){': ' + text if text else ''}")

    def _upload(self, name: str, text: str) -> None:
        result = self._admin.run(f'cat > "$HOME"/{self.workdir}/{name}', stdin=text)
        if result.status != 0:
            raise CommitError(f"{self.hostname}: cannot upload {name}: {result.text}")

    # -- candidate lifecycle --------------------------------------------------------

    def _load(self, text: str, error: type[Exception]) -> None:
        """Upload the candidate, syntax-check it and keep its deltas: one request."""
        self._candidate = None
        prepared = self._agent("prepare", self._session_file("candidate"), stdin=text)
        if prepared.status != 0:
            raise error(f"{self.hostname}: the device rejects the candidate: {prepared.text}")
        self._deltas = frr_parse.deltas_as_diff(frr_parse.reload_deltas(prepared.stdout))

    @staticmethod
    def _text(filename: str | None, config: str | None) -> str:
        if config is None and filename is None:
            raise ValueError("give filename or config")
        return config if config is not None else Path(filename).read_text()

    def load_replace_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        self._load(self._text(filename, config), ReplaceConfigException)
        self._candidate = "replace"

    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        """Merge: these lines on top of the running configuration. compare_config shows
        them against running + lines; the commit applies them (vtysh -f), all or nothing."""
        lines = self._text(filename, config)
        running = self.get_config(retrieve="running")["running"]
        self._load(running.rstrip().removesuffix("end") + "\n" + lines + "\nend\n", MergeConfigException)
        self._upload(self._session_file("merge"), lines)
        self._candidate = "merge"

    def compare_config(self) -> str:
        """The deltas running -> candidate, as computed when the candidate was loaded."""
        return self._deltas if self._candidate is not None else ""

    def discard_config(self) -> None:
        self._candidate = None

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        if self._candidate is None:
            raise CommitError(f"{self.hostname}: no candidate configuration loaded")
        try:
            merge = [self._session_file("merge")] if self._candidate == "merge" else []
            result = self._agent("commit", self._session_file("candidate"), str(int(revert_in or 0)), *merge, timeout=300)
        except ConnectionClosedException as exc:
            timer = f"; it reverts by itself after {revert_in} s unless confirmed" if revert_in else ""
            raise CommitInterrupted(f"{self.hostname}: connection dropped during the commit ({exc}); the router completes it all or nothing{timer}") from None
        self._candidate = None
        if result.status == REJECTED:
            raise CommitError(f"{self.hostname}: the device rejected the configuration; the previous one is back in place: {result.text}")
        if result.status == NOT_PENDING:
            raise CommitError(f"{self.hostname}: {result.text}")
        if result.status != 0:
            raise CommitError(f"{self.hostname}: commit failed (agent status {result.status}): {result.text}")

    def confirm_commit(self) -> None:
        result = self._agent("confirm")
        if result.status != 0:
            raise CommitConfirmException(f"{self.hostname}: {result.text}")

    def has_pending_commit(self) -> bool:
        return self._agent("pending").status == 0

    def rollback(self) -> None:
        result = self._agent("rollback", timeout=300)
        if result.status != 0:
            raise CommitError(f"{self.hostname}: rollback failed: {result.text}")

    # -- getters ----------------------------------------------------------------------

    def get_config(self, retrieve: str = "all", full: bool = False, sanitized: bool = False, format: str = "text") -> dict[str, str]:
        running = ""
        if retrieve in ("all", "running"):
            lines = self._vtysh(["show running-config"]).splitlines()
            running = "\n".join(l for l in lines if l not in ("Building configuration...", "Current configuration:")).strip() + "\n"
        return {"running": running, "startup": "", "candidate": ""}

    def get_facts(self) -> dict[str, Any]:
        version = self._vtysh(["show version"]).splitlines()[0]
        interfaces = self._json("show interface json")
        hostname = next((l.split()[1] for l in self.get_config("running")["running"].splitlines() if l.startswith("hostname ")), self.pathspace)
        return {
            "hostname": hostname,
            "fqdn": hostname,
            "vendor": "FRRouting",
            "model": "FRRouting",
            "os_version": version.split()[1] if len(version.split()) > 1 else version,
            "serial_number": self.pathspace,
            "uptime": -1.0,
            "interface_list": sorted(interfaces),
        }

    def get_interfaces(self) -> dict[str, dict[str, Any]]:
        return frr_parse.interfaces(self._json("show interface json"))

    def get_interfaces_ip(self) -> dict[str, Any]:
        return frr_parse.interfaces_ip(self._json("show interface json"))

    def get_ospf_neighbors(self) -> list[dict[str, Any]]:
        """OSPF adjacencies: neighbor_id, address, interface, state, role, is_full."""
        return frr_parse.ospf_neighbors(self._json("show ip ospf neighbor json"))

    def get_route_to(self, destination: str = "", protocol: str = "", longer: bool = False) -> dict[str, list[dict[str, Any]]]:
        """napalm's get_route_to from ``show ip route DESTINATION json`` (the address
        is checked before it reaches vtysh)."""
        target = str(ip_network(destination, strict=False) if "/" in destination else ip_address(destination))
        return frr_parse.route_to(self._json(f"show ip route {target} json"), protocol)

    def get_arp_table(self, vrf: str = "") -> list[dict[str, Any]]:
        """The kernel's IPv4 neighbour table (FRR keeps none of its own), napalm's shape;
        an unresolved entry has mac ``""``."""
        result = self._admin.run("ip -j -4 neigh show", timeout=15)
        return frr_parse.arp_table(result.stdout)

    def cli(self, commands: list[str], encoding: str = "text") -> dict[str, str]:
        return {command: self._vtysh([command]) for command in commands}

    def ping(self, destination: str, source: str = "", ttl: int = 255, timeout: int = 2, size: int = 100,
             count: int = 5, vrf: str = "", source_interface: str = "") -> dict[str, Any]:
        argv = ["ping", "-n", "-c", str(count), "-W", str(timeout), "-t", str(ttl), "-s", str(size), "-i", "0.2"]
        if source or source_interface:
            argv += ["-I", source or source_interface]
        result = self._admin.run(" ".join(shlex.quote(a) for a in [*argv, destination]), timeout=count * (timeout + 1) + 5)
        return frr_parse.ping(result.text)
