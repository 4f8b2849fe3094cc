"""The controls of the security baseline, as data: id, area, legal reference, check.

An information system at level 3 (Decree 85/2016/NĐ-CP, Article 7; requirements in
TCVN 11930:2017, section 7 "requirements for level 3", technical part "server
security" and "data security") must show authentication, access control, logging and
backup. These are the controls of those areas that a server deploy can carry; the
``base`` role applies them, the backup roles the backup one.

A check is a POSIX shell snippet run as root on the host; exit status 0 means the
control passes. Checks only read (``sshd -T``, ``grep``, ``stat``…): the audit changes
nothing. The paths the roles write are named here once, for both.
"""

from __future__ import annotations

from dataclasses import dataclass

DECREE = "Nghị định 85/2016/NĐ-CP"
STANDARD = "TCVN 11930:2017"

SSHD_BASELINE = "/etc/ssh/sshd_config.d/50-hatang-baseline.conf"
PWQUALITY = "/etc/security/pwquality.conf.d/50-hatang-baseline.conf"
SESSION_TIMEOUT = "/etc/profile.d/hatang-session-timeout.sh"
SUDOERS = "/etc/sudoers.d/hatang-baseline"
AUDIT_RULES = "/etc/audit/rules.d/hatang-baseline.rules"
RSYSLOG_FORWARD = "/etc/rsyslog.d/60-hatang-forward.conf"
LOGROTATE = "/etc/logrotate.d/rsyslog"
CHRONY_CONF = "/etc/chrony/chrony.conf"
SYSCTL = "/etc/sysctl.d/90-hatang-baseline.conf"
AUTO_UPGRADES = "/etc/apt/apt.conf.d/20auto-upgrades"
BACKUP_CRON = "/etc/cron.d/hatang-backup"
BACKUP_STAMP = "/var/lib/hatang-backup/last-success"

SESSION_TIMEOUT_S = 900
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_DAYS = 90
LOG_RETENTION_WEEKS = 26  # about six months, over the 3 months a level-3 system keeps
BACKUP_MAX_AGE_H = 26  # a daily job, with two hours of slack


@dataclass(frozen=True)
class Control:
    id: str
    area: str  # authentication, access control, logging, backup, hardening
    title: str
    reference: str
    check: str
    roles: tuple[str, ...] = ("base",)  # the hosts it applies to: those with one of these roles

    def applies_to(self, host_roles: tuple[str, ...] | list[str]) -> bool:
        return any(role in host_roles for role in self.roles)


def _ref(part: str) -> str:
    return f"{DECREE} (level 3); {STANDARD} §7, {part}"


CONTROLS: tuple[Control, ...] = (
    Control(
        "AUTH-01", "authentication", "root logs in over SSH by key only, never by password",
        _ref("server security: authentication"),
        "sshd -T 2>/dev/null | grep -Eqx 'permitrootlogin (prohibit-password|without-password|no)'",
    ),
    Control(
        "AUTH-02", "authentication", "SSH accepts keys only (password and keyboard-interactive off)",
        _ref("server security: authentication"),
        "c=$(sshd -T 2>/dev/null) && echo \"$c\" | grep -qx 'passwordauthentication no' "
        "&& echo \"$c\" | grep -qx 'kbdinteractiveauthentication no' && echo \"$c\" | grep -qx 'permitemptypasswords no'",
    ),
    Control(
        "AUTH-03", "authentication", f"password policy: at least {PASSWORD_MIN_LENGTH} characters of 3 classes, changed every {PASSWORD_MAX_DAYS} days",
        _ref("server security: authentication (password policy)"),
        f"grep -Eqs '^minlen *= *([0-9]+)' {PWQUALITY} && [ \"$(sed -n 's/^minlen *= *//p' {PWQUALITY})\" -ge {PASSWORD_MIN_LENGTH} ] "
        "&& grep -qs pam_pwquality.so /etc/pam.d/common-password "
        f"&& [ \"$(awk '$1==\"PASS_MAX_DAYS\"{{print $2}}' /etc/login.defs)\" -le {PASSWORD_MAX_DAYS} ]",
    ),
    Control(
        "AUTH-04", "authentication", f"idle sessions end after {SESSION_TIMEOUT_S // 60} minutes (shell and SSH)",
        _ref("server security: authentication (session timeout)"),
        f"grep -Eqs '^TMOUT=[0-9]+$' {SESSION_TIMEOUT} && [ \"$(sed -n 's/^TMOUT=//p' {SESSION_TIMEOUT})\" -le {SESSION_TIMEOUT_S} ] "
        f"&& grep -qs '^readonly TMOUT' {SESSION_TIMEOUT} "
        "&& sshd -T 2>/dev/null | grep -Eqx 'clientaliveinterval [1-9][0-9]*'",
    ),
    Control(
        "AUTH-05", "authentication", "no account has an empty password",
        _ref("server security: authentication"),
        "awk -F: '$2==\"\" {bad=1} END {exit bad}' /etc/shadow",
    ),
    Control(
        "ACC-01", "access control", "sudo: only the administrators' group, always with a password, every command logged",
        _ref("server security: access control"),
        f"test -f {SUDOERS} && ! grep -rqs NOPASSWD /etc/sudoers /etc/sudoers.d && grep -qs 'logfile=' {SUDOERS} && visudo -cq",
    ),
    Control(
        "ACC-02", "access control", "permissions of account and SSH files are strict",
        _ref("server security: access control"),
        "[ \"$(stat -c %a /etc/shadow)\" -le 640 ] && [ \"$(stat -c %a /etc/gshadow)\" -le 640 ] "
        "&& [ \"$(stat -c %a /etc/ssh/sshd_config)\" -le 644 ] "
        "&& [ -z \"$(find /etc/ssh -name 'ssh_host_*_key' -perm /077)\" ] "
        "&& [ -z \"$(find /etc/sudoers.d -type f -perm /027)\" ]",
    ),
    Control(
        "LOG-01", "logging", "audit rules watch identity, sudo, SSH and time changes; auditd runs where the kernel allows",
        _ref("server security: system logs"),
        f"grep -qs -- '-w /etc/passwd' {AUDIT_RULES} && grep -qs -- '-w /etc/sudoers' {AUDIT_RULES} "
        "&& { pidof auditd >/dev/null || ! auditctl -s >/dev/null 2>&1; }",
    ),
    Control(
        "LOG-02", "logging", "system logs are forwarded to the IIC syslog server",
        _ref("server security: system logs (central log collection)"),
        f"grep -qs 'type=\"omfwd\"' {RSYSLOG_FORWARD} && pidof rsyslogd >/dev/null",
    ),
    Control(
        "LOG-03", "logging", f"local logs are kept {LOG_RETENTION_WEEKS} weeks (at least 3 months)",
        _ref("server security: system logs (retention)"),
        f"awk '$1==\"weekly\"{{w=1}} $1==\"rotate\" && $2>=13 {{r=1}} END {{exit !(w && r)}}' {LOGROTATE}",
    ),
    Control(
        "LOG-04", "logging", "the clock follows the IIC time servers (log timestamps agree)",
        _ref("server security: system logs (time synchronisation)"),
        f"grep -Eqs '^(server|pool) ' {CHRONY_CONF} && pidof chronyd >/dev/null "
        "&& [ \"$(readlink -f /etc/localtime)\" = /usr/share/zoneinfo/Asia/Ho_Chi_Minh ]",
    ),
    Control(
        "SYS-01", "hardening", "security updates install unattended",
        _ref("server security: intrusion prevention (patching)"),
        "apt-config dump 2>/dev/null | grep -qx 'APT::Periodic::Unattended-Upgrade \"1\";'",
    ),
    Control(
        "SYS-02", "hardening", "kernel network and memory hardening is set for every boot",
        _ref("server security: intrusion prevention"),
        f"grep -qs '^net.ipv4.conf.all.accept_redirects *= *0' {SYSCTL} && grep -qs '^kernel.kptr_restrict *= *2' {SYSCTL}",
    ),
    Control(
        "BAK-01", "backup", f"a daily backup job is configured and succeeded in the last {BACKUP_MAX_AGE_H} hours",
        f"{DECREE} (level 3); {STANDARD} §7, data security: backup",
        f"test -f {BACKUP_CRON} && [ -n \"$(find {BACKUP_STAMP} -mmin -{BACKUP_MAX_AGE_H * 60} 2>/dev/null)\" ]",
        roles=("postgresql", "web-portal"),
    ),
)

BY_ID = {c.id: c for c in CONTROLS}
