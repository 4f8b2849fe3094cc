"""Building blocks the deploy roles share: packages, services under any init, files.

Each keeps pyinfra's contract (read facts, compare, yield only what is needed): they
only choose which pyinfra operation to call. Imported by the deploy files, which
pyinfra runs; nothing here runs at import time.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from io import StringIO

from pyinfra import host
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import Directory
from pyinfra.facts.server import Command
from pyinfra.facts.systemd import SystemdStatus
from pyinfra.facts.sysvinit import InitdStatus
from pyinfra.operations import apt, files, server, systemd, sysvinit

from hatang.credentials import credential, secret
from hatang.deploy.baseline.controls import BY_ID
from hatang.deploy.baseline.expected import environment as expected_values
from hatang.deploy.baseline.script import one
from hatang.deploy.intent import HostIntent, for_host

#: Ends the output of a control's check run as a fact: the check's exit status.
DRIFT_MARK = "HATANG-STATUS"

INIT_SCRIPT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          {name}
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: {name}, for hosts without systemd (written by hatang)
### END INIT INFO
DAEMON={daemon.exec}
PIDFILE={daemon.pidfile}
case "$1" in
  start) start-stop-daemon --start --quiet --oknodo --pidfile "$PIDFILE" --exec "$DAEMON" -- {daemon.args} ;;
  stop) start-stop-daemon --stop --quiet --oknodo --retry 5 --pidfile "$PIDFILE" --exec "$DAEMON" && rm -f "$PIDFILE" ;;
  restart) "$0" stop && "$0" start ;;
  reload|force-reload) start-stop-daemon --stop --signal HUP --quiet --pidfile "$PIDFILE" --exec "$DAEMON" ;;
  status) start-stop-daemon --status --pidfile "$PIDFILE" --exec "$DAEMON" ;;
  *) echo "usage: $0 start|stop|restart|reload|status" >&2; exit 3 ;;
esac
"""


#: A restart without systemd: Debian's init scripts stop without waiting (chrony's sends
#: TERM and returns), so their own ``restart`` may start while the old daemon still holds
#: its pid file, find it "already running", and leave nothing once it exits. Wait
#: (bounded, 10 s) until ``status`` says it is gone, then start.
SYSVINIT_RESTART = (
    "{script} stop; n=0; while {script} status >/dev/null 2>&1 && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done; "
    "{script} start"
)


def intent() -> HostIntent:
    """The intent of the host pyinfra is running the deploy on."""
    return for_host(host.name, host.data.get("hatang_inventory", ""), environment())


def packages(names: list[str]) -> None:
    """Install ``names``; refresh the package lists first only if one is missing, so a
    converged host makes no change (and needs no mirror)."""
    installed = host.get_fact(DebPackages)
    missing = [n for n in names if n not in installed]
    apt.packages(name=f"Install {', '.join(names)}", packages=names, update=bool(missing), no_recommends=True)


def systemd_booted() -> bool:
    """True when systemd is PID 1: the check ``sd_booted()`` makes. A host that merely
    has systemctl installed (a container, a lab host) is managed through sysvinit."""
    return bool(host.get_fact(Directory, path="/run/systemd/system"))


@dataclass(frozen=True)
class Daemon:
    """How to run a service whose package ships no sysvinit script (only a systemd
    unit, as rsyslog in bookworm): enough for a generic start-stop-daemon script."""

    exec: str
    pidfile: str
    args: str = ""


def service(name: str, *, restart_when: list[OperationMeta] = (), reload: bool = False, enabled: bool = True,
            daemon: Daemon | None = None, drifted: bool = False) -> None:
    """Keep ``name`` running and enabled; restart (or reload) it when one of
    ``restart_when`` changed something, or when ``drifted`` (its running state fails a
    control though its files are right). Without systemd, the service's sysvinit script
    runs it; ``daemon`` provides one for packages that ship none."""
    booted = systemd_booted()
    manage = systemd.service if booted else sysvinit.service
    if daemon is not None and not booted:
        text(f"/etc/init.d/{name}", INIT_SCRIPT.format(name=name, daemon=daemon), mode="755", name=f"sysvinit script for {name} (no systemd)")
    # A service not running before this run starts with its new configuration: restarting
    # it right after its start would race the init script (stop finds no pid file yet).
    status = host.get_fact(SystemdStatus) if booted else host.get_fact(InitdStatus)
    was_running = status.get(f"{name}.service" if booted else name)
    manage(name=f"Run service {name}", service=name, running=True, enabled=enabled)
    if (restart_when or drifted) and was_running:
        changed = lambda: drifted or any(op.did_change() for op in restart_when)  # noqa: E731
        title = f"{'Reload' if reload else 'Restart'} {name} (its configuration changed)"
        if not booted and not reload:
            server.shell(name=title, commands=[SYSVINIT_RESTART.format(script=shlex.quote(f"/etc/init.d/{name}"))], _if=changed)
            return
        action = {"reloaded": True} if reload else {"restarted": True}
        manage(name=title, service=name, running=True, _if=changed, **action)


def text(dest: str, content: str, *, mode: str = "644", user: str = "root", group: str = "root", name: str | None = None) -> OperationMeta:
    """A file with exactly ``content`` (uploaded only when its checksum differs)."""
    return files.put(name=name or f"Write {dest}", src=StringIO(content), dest=dest, mode=mode, user=user, group=group)


def command_if(name: str, command: str, when: list[OperationMeta], *, drifted: bool = False) -> OperationMeta:
    """Run ``command`` only if one of ``when`` changed something (a handler), or if
    ``drifted`` (the live state fails its control though the files are right)."""
    return server.shell(name=name, commands=[command], _if=lambda: drifted or any(op.did_change() for op in when))


def failing(control_id: str) -> str:
    """The message of the baseline control ``control_id`` on this host before the run
    (``found …; expected …``), or ``""`` when it passes: the audit's own check, with the
    host's expected values, so a repair acts exactly on what the audit would report."""
    output = host.get_fact(Command, command=f"{check_command(control_id)} 2>/dev/null; echo \"{DRIFT_MARK} $?\"") or ""
    lines = output.splitlines()
    return "" if lines and lines[-1] == f"{DRIFT_MARK} 0" else (" ".join(lines[:-1]) or "failed")


def check_command(control_id: str) -> str:
    """A shell command running the check of ``control_id`` with this host's expected
    values: exit 0 when it passes, else ``found …; expected …`` on stdout."""
    return f"/bin/sh -c {shlex.quote(one(BY_ID[control_id], expected_values(intent())))}"


def lines_of(command: str) -> list[str]:
    """The output lines of a read-only shell ``command`` on this host (a fact)."""
    return [line for line in (host.get_fact(Command, command=f"{command} 2>/dev/null || true") or "").splitlines() if line]


def environment() -> str:
    return host.data.get("hatang_env", "lab")


def admin_public_key() -> str:
    """The public half of the ``server-admin`` key (the key deploys log in with)."""
    from pathlib import Path

    from cryptography.hazmat.primitives import serialization

    path = Path(secret("server-admin", "ssh_private_key_file", env=environment()))
    key = serialization.load_ssh_private_key(path.read_bytes(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def snmp_v3() -> dict[str, str]:
    return credential("snmp-v3", ("username", "auth_key", "priv_key"), env=environment())
