"""Each service role's health check, defined once: what proves a server carries its role.

A check is a few words of ``sh`` that read the server's own files and programs, and need
no network at all: the deploy runs them over SSH after a role's run (:mod:`.runner`'s
``verify``), ``hatang deploy check`` runs them on any server, and ``hatang cloud
restore-test`` runs the very same commands inside a restored, network-less copy through
the QEMU guest agent (:mod:`hatang.cloud.restore_test`). A check passes when its
command exits 0; what it printed says why not.

- ``web-portal``: nginx accepts its configuration (``nginx -t``: it binds nothing) and
  the service's site is there (``/srv/www/<service>/index.html``, the deploy's page).
- ``postgresql``: the cluster's configuration with hatang's settings, and its data
  directory readable by PostgreSQL's own tool (``pg_controldata``: the control file and
  its checksum, no server and no socket needed).
- ``backup-server``: the backup account, its repository, and its key limited to
  ``rrsync`` write-only in that repository.

``base`` and ``proxmox-node`` have none here: the baseline's controls
(:mod:`.baseline.controls`, ``hatang deploy audit``) are theirs.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from hatang.deploy.login import Login
from hatang.inventory.inventory import LinuxHost
from hatang.results import Result, Results, run_per_host

#: At most this much of a check's output is kept (a failing check names what it found).
OUTPUT_MAX = 4096


@dataclass(frozen=True)
class HealthCheck:
    role: str
    name: str
    script: str  # sh, run as root; exit 0 = healthy

    @property
    def command(self) -> list[str]:
        """The argv that runs it (the guest agent takes a program and its arguments)."""
        return ["/bin/sh", "-c", self.script]


def _web_portal(host: LinuxHost) -> list[HealthCheck]:
    index = shlex.quote(f"/srv/www/{host.service or host.name}/index.html")
    return [
        HealthCheck("web-portal", "nginx configuration", "nginx -t -q"),
        HealthCheck("web-portal", "site present", f"test -s {index} || {{ echo \"missing {index}\"; exit 1; }}"),
    ]


def _postgresql(host: LinuxHost) -> list[HealthCheck]:
    # the newest major version installed (Debian's layout: /usr/lib/postgresql/<v>, /etc and /var/lib per cluster)
    return [HealthCheck("postgresql", "cluster data", """v=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)
[ -n "$v" ] || { echo "no PostgreSQL installed in /usr/lib/postgresql"; exit 1; }
test -s "/etc/postgresql/$v/main/conf.d/50-hatang.conf" || { echo "missing /etc/postgresql/$v/main/conf.d/50-hatang.conf"; exit 1; }
test -s "/var/lib/postgresql/$v/main/PG_VERSION" || { echo "missing /var/lib/postgresql/$v/main/PG_VERSION"; exit 1; }
"/usr/lib/postgresql/$v/bin/pg_controldata" "/var/lib/postgresql/$v/main" | grep -E '^(Database cluster state|pg_control version number):'""")]


def _backup_server(host: LinuxHost) -> list[HealthCheck]:
    from hatang.deploy.backup import BACKUP_USER, REPOSITORY, RRSYNC

    return [HealthCheck("backup-server", "repository and key", f"""id -u {BACKUP_USER} >/dev/null || {{ echo "no account {BACKUP_USER}"; exit 1; }}
test -d {shlex.quote(REPOSITORY)} || {{ echo "missing {REPOSITORY}"; exit 1; }}
grep -qF 'command="{RRSYNC}"' /srv/backup/.ssh/authorized_keys || {{ echo "the backup key is not limited to '{RRSYNC}'"; exit 1; }}""")]


CHECKS = {"web-portal": _web_portal, "postgresql": _postgresql, "backup-server": _backup_server}


def checks(host: LinuxHost, role: str | None = None) -> list[HealthCheck]:
    """The health checks of ``host``'s roles (of ``role`` only, if given), in role order."""
    return [check for r in host.roles if r in CHECKS and role in (None, r) for check in CHECKS[r](host)]


@dataclass(frozen=True)
class Outcome:
    """One check's run: its exit code (None when it could not run: ``note`` says why)."""

    check: HealthCheck
    exitcode: int | None
    out: str = ""
    err: str = ""
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.exitcode == 0

    def message(self) -> str:
        """``role: name: why`` for a failed check, '' for a passed one."""
        if self.passed:
            return ""
        said = (self.out.strip() or self.err.strip()).splitlines()
        why = self.note or f"exit {self.exitcode}" + (f": {said[-1]}" if said else "")
        return f"{self.check.role}: {self.check.name}: {why}"

    def as_dict(self) -> dict:
        return {"role": self.check.role, "check": self.check.name, "command": self.check.command, "exitcode": self.exitcode,
                "passed": self.passed, "out": self.out[:OUTPUT_MAX], "err": self.err[:OUTPUT_MAX], "note": self.note}


CHECK_TIMEOUT_S = 60


def over_ssh(host: LinuxHost, who: Login, role: str | None = None) -> Result:
    """``host``'s checks (of ``role``) over one SSH login; nothing is written on the host."""
    outcomes = []
    client = who.connect(str(host.address.ip))
    try:
        for check in checks(host, role):
            channel = client.get_transport().open_session(timeout=CHECK_TIMEOUT_S)
            channel.settimeout(CHECK_TIMEOUT_S)
            channel.set_combine_stderr(True)  # what it printed, in order, whichever stream
            channel.exec_command(shlex.join(check.command))
            out = channel.makefile("rb").read(OUTPUT_MAX).decode(errors="replace")
            outcomes.append(Outcome(check, channel.recv_exit_status(), out))
    finally:
        client.close()
    return Result(host=host.name, ok=all(o.passed for o in outcomes),
                  error="\n".join(f"{host.name}: {o.message()}" for o in outcomes if not o.passed),
                  data={"health": [o.as_dict() for o in outcomes]})


def check_hosts(hosts: list[LinuxHost], who: Login, *, role: str | None = None, show_progress: bool = True) -> Results:
    """Every host's health checks (those of ``role``), one result per host that has any."""
    having = [h for h in hosts if checks(h, role)]
    return run_per_host(having, lambda h: over_ssh(h, who, role), name_of=lambda h: h.name, label="health",
                        show_progress=show_progress)
