"""The drift corpus: ways a server leaves the baseline, each with the control it must fail.

Each break is one shell command run as root on one lab host (after ``hatang deploy
all``). For each: the audit must fail exactly its controls on exactly its host, with
``found`` naming the value the break left; ``hatang deploy all`` must repair it; the
audit must pass again. The lab tests (``tests/deploy/test_baseline_drift.py``) hold
every break to that, and ``bench/baseline_drift.py`` counts them for docs/reliability.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from hatang.deploy import playbook_runner, runner
from hatang.deploy.baseline import controls as c
from hatang.deploy.baseline import playbook
from hatang.deploy.baseline.audit import audit
from hatang.deploy.login import login
from hatang.deploy.targets import select
from hatang.errors import HatangError
from hatang.inventory.inventory import Inventory
from hatang.results import Result, Results

WEB, DB, BACKUP = "portal-web-01", "db-pg-01", "backup"
#: The lab hosts the corpus breaks and audits (one of each role it carries).
HOSTS = (WEB, DB, BACKUP)
DROP_INS_FIRST = "sed -i '1i Include /etc/ssh/sshd_config.d/*.conf' /etc/ssh/sshd_config"


@dataclass(frozen=True)
class Break:
    name: str
    host: str
    controls: tuple[str, ...]  # exactly the controls the audit must fail
    command: str
    found: str  # what the failing message must show (the value the break left)


BREAKS: tuple[Break, ...] = (
    Break("drop-in 00-x.conf with PermitRootLogin yes, read before hatang's settings", WEB, ("AUTH-01",),
          f"printf 'PermitRootLogin yes\\n' > /etc/ssh/sshd_config.d/00-x.conf && {DROP_INS_FIRST}", "permitrootlogin yes"),
    Break("password logins on in sshd_config", DB, ("AUTH-02",),
          "sed -i 's/^PasswordAuthentication no/PasswordAuthentication yes/' /etc/ssh/sshd_config", "passwordauthentication yes"),
    Break("SSH keepalive off", WEB, ("AUTH-04",), "sed -i 's/^ClientAliveInterval .*/ClientAliveInterval 0/' /etc/ssh/sshd_config",
          "clientaliveinterval 0"),
    Break("passwords of 8 characters", WEB, ("AUTH-03",), f"sed -i 's/^minlen.*/minlen = 8/' {c.PWQUALITY}", "minlen 8"),
    Break("passwords never expire", BACKUP, ("AUTH-03",), "sed -i 's/^PASS_MAX_DAYS.*/PASS_MAX_DAYS\\t99999/' /etc/login.defs",
          "PASS_MAX_DAYS 99999"),
    Break("session timeout no longer read-only", WEB, ("AUTH-04",), f"sed -i '/^readonly TMOUT/d' {c.SESSION_TIMEOUT}",
          "TMOUT not read-only"),
    Break("a user with an empty password", WEB, ("AUTH-05",), "useradd -M -s /bin/sh ghost && passwd -qd ghost", "empty password: ghost"),
    Break("a second uid-0 account, toor", DB, ("AUTH-06",), "useradd -o -u 0 -g 0 -M -d /root -s /bin/sh toor", "uid 0: root toor"),
    Break("SSH open to any source", WEB, ("AUTH-07",), "nft insert rule inet hatang input tcp dport 22 accept",
          "unexpected [tcp dport 22 accept]"),
    Break("a sudoers.d file with NOPASSWD", WEB, ("ACC-01",),
          "echo 'ops ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/90-ops && chmod 440 /etc/sudoers.d/90-ops",
          "NOPASSWD /etc/sudoers.d/90-ops: ops ALL=(ALL) NOPASSWD: ALL"),
    Break("NOPASSWD for the sudo group in /etc/sudoers", BACKUP, ("ACC-01",), "echo '%sudo ALL=(ALL:ALL) NOPASSWD: ALL' >> /etc/sudoers",
          "NOPASSWD /etc/sudoers: %sudo ALL=(ALL:ALL) NOPASSWD: ALL"),
    Break("sshd_config world-writable (622)", WEB, ("ACC-02",), "chmod 622 /etc/ssh/sshd_config", "/etc/ssh/sshd_config 622 root root"),
    Break("/etc/shadow world-readable (604)", WEB, ("ACC-03",), "chmod 604 /etc/shadow", "/etc/shadow 604 root shadow"),
    Break("/etc/passwd world-writable (666)", DB, ("ACC-03",), "chmod 666 /etc/passwd", "/etc/passwd 666 root root"),
    Break("/etc/gshadow owned by group root", BACKUP, ("ACC-03",), "chgrp root /etc/gshadow", "/etc/gshadow 640 root root"),
    Break("no firewall (ruleset flushed)", WEB, ("AUTH-07", "FW-01"), "nft flush ruleset", "no nftables chain inet hatang input"),
    Break("firewall policy accept", DB, ("FW-01",), "nft add chain inet hatang input '{ policy accept; }'", "policy accept"),
    Break("an extra port open", WEB, ("FW-01",), "nft add rule inet hatang input tcp dport 8080 accept", "unexpected [tcp dport 8080 accept]"),
    Break("audit rules removed", WEB, ("LOG-01",), f"rm {c.AUDIT_RULES}", f"no watch rules in {c.AUDIT_RULES}"),
    Break("logs forwarded elsewhere", DB, ("LOG-02",),
          f"sed -i 's/target=\"[^\"]*\"/target=\"198.18.0.99\"/' {c.RSYSLOG_FORWARD}", "forwarding to 198.18.0.99"),
    Break("rsyslogd stopped", WEB, ("LOG-02",), "kill $(pidof rsyslogd) && sleep 1", "rsyslogd not running"),
    Break("logs kept 13 weeks (rotate 13)", WEB, ("LOG-03",), f"sed -i 's/rotate [0-9]*/rotate 13/' {c.LOGROTATE}",
          "rotate 13 weekly = 91 days"),
    Break("logs rotated daily (26 days)", BACKUP, ("LOG-03",), f"sed -i 's/^\\tweekly/\\tdaily/' {c.LOGROTATE}",
          "rotate 26 daily = 26 days"),
    Break("chrony pointed at another server", WEB, ("LOG-04",), f"sed -i 's/^server .*/server 198.18.0.123 iburst/' {c.CHRONY_CONF}",
          "unexpected [198.18.0.123]"),
    Break("a time source added to the running chronyd only", DB, ("LOG-04",), "chronyc add server 198.18.0.124 >/dev/null",
          "chronyd sources: unexpected [198.18.0.124]"),
    Break("chronyd not synchronised (its IIC sources offline, their measurements dropped)", BACKUP, ("LOG-04",),
          "chronyc offline >/dev/null && chronyc reset sources >/dev/null", "reference none, leap status Not synchronised"),
    Break("time zone UTC", WEB, ("LOG-04",), "ln -sf /usr/share/zoneinfo/Etc/UTC /etc/localtime", "zone /usr/share/zoneinfo/Etc/UTC"),
    Break("unattended-upgrades removed", WEB, ("SYS-01",), "apt-get remove -qq -y unattended-upgrades >/dev/null 2>&1",
          "unattended-upgrades deinstall ok config-files"),
    Break("apt's daily job disabled", BACKUP, ("SYS-01",), "chmod -x /etc/cron.daily/apt-compat", "no cron running"),
    Break("kernel hardening removed", WEB, ("SYS-02",), f"sed -i '/kptr_restrict/d' {c.SYSCTL}", "hardening missing"),
    Break("a stale backup (30 hours old)", WEB, ("BAK-01",), f"touch -d '30 hours ago' {c.BACKUP_STAMP}", "last success 30 h ago"),
    Break("the backup job removed", DB, ("BAK-01",), f"rm {c.BACKUP_CRON}", f"no {c.BACKUP_CRON}"),
)


@dataclass
class Trial:
    """One break tried: the audits before and after ``deploy all`` on its host."""

    brk: Break
    before: Results  # the hatang audit of every corpus host, after the break
    ansible: Results | None  # the Ansible audit of the broken host, if asked
    deploy: list[Result]  # ``deploy all --limit HOST``: one result per role
    after: Results  # the hatang audit of the broken host, after the deploy

    def failing(self, host: str) -> set[str]:
        return {c["id"] for c in self.before.by_host[host].data.get("controls", []) if not c["passed"]}

    @property
    def detected(self) -> bool:
        """Exactly the break's controls fail, on its host only, naming the value found."""
        others_pass = all(r.ok for r in self.before if r.host != self.brk.host)
        return others_pass and self.failing(self.brk.host) == set(self.brk.controls) and self.brk.found in self.before.by_host[self.brk.host].error

    @property
    def repaired(self) -> bool:
        return all(r.ok for r in self.deploy) and self.after.by_host[self.brk.host].ok


def run_command(inv: Inventory, host: str, command: str, timeout_s: float = 60) -> str:
    """Run ``command`` as root on lab host ``host``; raises HatangError if it fails."""
    address = next(str(h.address.ip) for h in inv.linux_hosts() if h.name == host)
    client = login(inv.env).connect(address)
    try:
        _, stdout, stderr = client.exec_command(command, timeout=timeout_s)
        out, status = stdout.read().decode(errors="replace"), stdout.channel.recv_exit_status()
        if status != 0:
            raise HatangError(f"{host}: '{command}' exited {status}", details=stderr.read().decode(errors="replace").splitlines()[-3:])
        return out
    finally:
        client.close()


def audit_hosts(inv: Inventory, names: tuple[str, ...] | list[str]) -> Results:
    return audit(inv, select(inv, list(names)), login(inv.env), show_progress=False)


def trial(inv: Inventory, brk: Break, *, with_ansible: bool = True) -> Trial:
    """Break, audit (hatang on every corpus host; Ansible on the broken one), repair
    with ``deploy all`` on the broken host, audit it again."""
    run_command(inv, brk.host, brk.command)
    before = audit_hosts(inv, HOSTS)
    ansible = playbook_runner.run(inv, playbook.PATH, limit=[brk.host], check=True, show_progress=False).results if with_ansible else None
    deploy = [r for run in runner.run_all(inv, limit=[brk.host], show_progress=False) for r in run.results]
    return Trial(brk, before, ansible, deploy, audit_hosts(inv, [brk.host]))
