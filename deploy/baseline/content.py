"""The text of the files the baseline writes: one function per file, so the ``base``
role stays a list of steps and the content can be read (and tested) on its own."""

from __future__ import annotations

from hatang.deploy.baseline import controls as c

TIMEZONE = c.TIMEZONE
#: The IIC's administrators: members may use sudo, with their password.
ADMIN_GROUP = "iic-admins"
#: The prefix a NOPASSWD line outside the declared list gets: commented out, kept.
NOPASSWD_DISABLED = "# disabled by hatang (NOPASSWD not declared): "
HEADER = "# Managed by hatang (security baseline, level 3); local changes are overwritten.\n"


def chrony_conf(servers: tuple[str, ...]) -> str:
    lines = [f"server {s} iburst" for s in servers]
    return HEADER + "\n".join([
        *lines,
        "driftfile /var/lib/chrony/chrony.drift",
        "makestep 1 3",
        "rtcsync",
        "logdir /var/log/chrony",
        "",
    ])


def chrony_defaults(*, can_set_clock: bool) -> str:
    """``-x``: a container (no CAP_SYS_TIME) keeps time with its host's clock."""
    return HEADER + f'DAEMON_OPTS="-F 1{"" if can_set_clock else " -x"}"\n'


def sshd_config() -> str:
    """The whole ``sshd_config``, the baseline's settings *before* the ``Include`` of the
    drop-ins: sshd keeps the first value it reads, so no drop-in can weaken them."""
    return HEADER + f"""PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
PubkeyAuthentication yes
AuthenticationMethods any
MaxAuthTries 3
LoginGraceTime 30
ClientAliveInterval {c.SSH_CLIENT_ALIVE[0]}
ClientAliveCountMax {c.SSH_CLIENT_ALIVE[1]}
X11Forwarding no
AllowAgentForwarding no
LogLevel VERBOSE

Include /etc/ssh/sshd_config.d/*.conf

UsePAM yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
"""


def pwquality() -> str:
    return HEADER + f"minlen = {c.PASSWORD_MIN_LENGTH}\nminclass = 3\nretry = 3\nenforce_for_root\n"


def session_timeout() -> str:
    return HEADER + f"TMOUT={c.SESSION_TIMEOUT_S}\nreadonly TMOUT\nexport TMOUT\n"


def sudoers() -> str:
    return HEADER + f"""Defaults use_pty
Defaults logfile="/var/log/sudo.log"
Defaults timestamp_timeout=5
%{ADMIN_GROUP} ALL=(ALL:ALL) ALL
"""


def audit_rules() -> str:
    watches = [
        ("/etc/passwd", "identity"), ("/etc/group", "identity"), ("/etc/shadow", "identity"), ("/etc/gshadow", "identity"),
        ("/etc/sudoers", "scope"), ("/etc/sudoers.d/", "scope"),
        ("/etc/ssh/sshd_config", "sshd"), ("/etc/ssh/sshd_config.d/", "sshd"),
        ("/var/log/sudo.log", "actions"), ("/var/log/lastlog", "logins"),
    ]
    lines = [f"-w {path} -p wa -k {key}" for path, key in watches]
    lines.append("-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -k time-change")
    return HEADER + "\n".join(lines) + "\n"


def rsyslog_forward(server: str) -> str:
    """TCP with a disk-assisted queue: messages wait while the server is unreachable."""
    return HEADER + f"""*.* action(type="omfwd" target="{server}" port="514" protocol="tcp"
       queue.type="LinkedList" queue.filename="hatang-forward" queue.maxDiskSpace="512m"
       queue.saveOnShutdown="on" action.resumeRetryCount="-1")
"""


def logrotate() -> str:
    return HEADER + f"""/var/log/syslog
/var/log/mail.log
/var/log/kern.log
/var/log/auth.log
/var/log/user.log
/var/log/cron.log
{{
	rotate {c.LOG_RETENTION_DAYS // 7}
	weekly
	missingok
	notifempty
	compress
	delaycompress
	sharedscripts
	postrotate
		/usr/lib/rsyslog/rsyslog-rotate
	endscript
}}
"""


def sysctl() -> str:
    settings = {
        "net.ipv4.conf.all.accept_redirects": 0,
        "net.ipv4.conf.default.accept_redirects": 0,
        "net.ipv4.conf.all.send_redirects": 0,
        "net.ipv4.conf.all.accept_source_route": 0,
        "net.ipv4.conf.all.rp_filter": 2,
        "net.ipv4.conf.all.log_martians": 1,
        "net.ipv4.tcp_syncookies": 1,
        "kernel.kptr_restrict": 2,
        "kernel.dmesg_restrict": 1,
        "kernel.randomize_va_space": 2,
        "fs.protected_hardlinks": 1,
        "fs.protected_symlinks": 1,
    }
    return HEADER + "".join(f"{k} = {v}\n" for k, v in settings.items())


def auto_upgrades() -> str:
    return HEADER + 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n'


def unattended_upgrades() -> str:
    return HEADER + 'Unattended-Upgrade::Automatic-Reboot "false";\nUnattended-Upgrade::SyslogEnable "true";\n'


def snmpd_conf(address: str, name: str, v3: dict[str, str]) -> str:
    """SNMPv3 authPriv only (SHA/AES), on the server's own address."""
    return HEADER + f"""agentAddress udp:{address}:161
sysName {name}
sysLocation IIC data center
sysContact IIC operations
createUser {v3['username']} SHA {v3['auth_key']} AES {v3['priv_key']}
rouser {v3['username']} priv
"""
