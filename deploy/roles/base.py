"""pyinfra deploy: ``base``, the Debian baseline every IIC server carries.

Packages, time (chrony to the IIC's servers, Asia/Ho_Chi_Minh), the administrators and
their keys, SSH hardening, the level-3 security baseline (password policy, session
timeout, sudo, file permissions, accounts, host firewall, auditd, remote syslog and
retention, sysctl, unattended security upgrades) and snmpd for the monitoring.

It repairs every drift the audit sees: where a file is right but the live state is not
(a service running an old configuration, a firewall flushed by hand, an account
edited), the step asks the control's own check (:func:`ops.failing`) before the run.

Run by pyinfra (``hatang deploy base`` does: ``pyinfra INVENTORY deploy/roles/base.py``).
"""

from pyinfra import host
from pyinfra.operations import files, server, systemd

from hatang.deploy import ops
from hatang.deploy.baseline import content, firewall
from hatang.deploy.baseline import controls as c
from hatang.deploy.facts import CAP_AUDIT_CONTROL, CAP_SYS_TIME, BoundingCapabilities, KernelSettingsWritable

#: The IIC's administrators' account, logging in with the server-admin key.
ADMIN_ACCOUNT = "iicadmin"
FORMER_SSHD_DROP_IN = "/etc/ssh/sshd_config.d/50-hatang-baseline.conf"

intent = ops.intent()
capabilities = host.get_fact(BoundingCapabilities)

ops.packages(["sudo", "chrony", "rsyslog", "logrotate", "auditd", "unattended-upgrades", "snmpd", "cron", "libpam-pwquality", "netbase", "nftables"])

# --- time --------------------------------------------------------------------------
files.link(name="Time zone Asia/Ho_Chi_Minh", path="/etc/localtime", target=f"/usr/share/zoneinfo/{content.TIMEZONE}")
ops.text("/etc/timezone", content.TIMEZONE + "\n")
chrony = [
    ops.text(c.CHRONY_CONF, content.chrony_conf(intent.ntp_servers)),
    ops.text("/etc/default/chrony", content.chrony_defaults(can_set_clock=CAP_SYS_TIME in capabilities)),
]
ops.service("chrony", restart_when=chrony, drifted=bool(ops.failing("LOG-04")))

# --- administrators ---------------------------------------------------------------
server.group(name=f"Group {content.ADMIN_GROUP}", group=content.ADMIN_GROUP)
server.user(
    name=f"Administrator {ADMIN_ACCOUNT}", user=ADMIN_ACCOUNT, groups=[content.ADMIN_GROUP], shell="/bin/bash",
    create_home=True, public_keys=[ops.admin_public_key()], delete_keys=True,
)

# --- SSH ---------------------------------------------------------------------------
# hatang's settings come first in sshd_config, before the drop-ins: sshd keeps the first value
sshd = ops.text(c.SSHD_CONFIG, content.sshd_config())
files.file(name="No former baseline drop-in (its settings are in sshd_config)", path=FORMER_SSHD_DROP_IN, present=False)
ops.command_if("Check the SSH server configuration", "sshd -t", [sshd])
ops.service("ssh", restart_when=[sshd], reload=True, drifted=any(ops.failing(i) for i in ("AUTH-01", "AUTH-02", "AUTH-04")))

# --- authentication and access control ---------------------------------------------
ops.text(c.PWQUALITY, content.pwquality())
files.line(name=f"Passwords expire after {c.PASSWORD_MAX_DAYS} days", path="/etc/login.defs",
           line=r"^PASS_MAX_DAYS\s.*", replace=f"PASS_MAX_DAYS\t{c.PASSWORD_MAX_DAYS}")
ops.text(c.SESSION_TIMEOUT, content.session_timeout())
ops.text(c.SUDOERS, content.sudoers(), mode="440")
# NOPASSWD outside the declared list: the line is commented out, kept for the record
# (sudo reads /etc/sudoers and the files of sudoers.d without a dot or a "~").
for found in ops.lines_of("grep -Hn '^[^#]*NOPASSWD' /etc/sudoers $(ls -d /etc/sudoers.d/* | grep -v '[.~][^/]*$')"):
    path, number, line = found.split(":", 2)
    if line.strip() not in c.NOPASSWD_ALLOWED:
        server.shell(name=f"Disable an undeclared NOPASSWD rule ({path}:{number})",
                     commands=[f"sed -i '{number}s/^/{content.NOPASSWD_DISABLED}/' {path} && visudo -cq"])
for account in ops.lines_of("awk -F: '$2 == \"\" {print $1}' /etc/shadow"):
    server.shell(name=f"Lock {account}: its password is empty", commands=[f"usermod -L {account}"])
for account in ops.lines_of("awk -F: '$3 == 0 && $1 != \"root\" {print $1}' /etc/passwd"):
    # a second uid-0 account is root under another name; its home is kept
    server.shell(name=f"Remove {account}: uid 0 belongs to root alone", commands=[f"userdel -f {account}"])
for pattern, want in (*c.ACCOUNT_FILES.items(), *c.SECURITY_FILES.items()):
    mode, user, group = want.split()
    for path in ops.lines_of(f"ls -d {pattern}") if "*" in pattern else [pattern]:
        files.file(name=f"Mode and owners of {path}", path=path, mode=mode, user=user, group=group)

# --- host firewall -------------------------------------------------------------------
nft = ops.text(c.NFTABLES_CONF, firewall.ruleset(firewall.rules(intent)), mode="755")
ops.command_if("Apply the host firewall", f"nft -f {c.NFTABLES_CONF}", [nft], drifted=bool(ops.failing("FW-01") or ops.failing("AUTH-07")))
if ops.systemd_booted():
    ops.service("nftables")  # loads /etc/nftables.conf at boot

# --- logging -----------------------------------------------------------------------
audit = ops.text(c.AUDIT_RULES, content.audit_rules(), mode="640")
if CAP_AUDIT_CONTROL in capabilities:
    ops.command_if("Load the audit rules", "augenrules --load", [audit])
    ops.service("auditd")
rsyslog = [
    ops.text(c.RSYSLOG_FORWARD, content.rsyslog_forward(intent.syslog_server)),
    ops.text(c.LOGROTATE, content.logrotate()),
]
ops.service("rsyslog", restart_when=rsyslog[:1], daemon=ops.Daemon("/usr/sbin/rsyslogd", "/run/rsyslogd.pid"),
            drifted=bool(ops.failing("LOG-02")))

# --- hardening ---------------------------------------------------------------------
sysctl = ops.text(c.SYSCTL, content.sysctl())
if host.get_fact(KernelSettingsWritable):
    ops.command_if("Apply the kernel settings", f"sysctl -q -p {c.SYSCTL}", [sysctl])
ops.text(c.AUTO_UPGRADES, content.auto_upgrades())
if ops.systemd_booted():
    systemd.service(name="Unattended upgrades' timer", service="apt-daily-upgrade.timer", running=True, enabled=True)
else:  # cron runs apt's daily job without systemd
    files.file(name="apt's daily job, run by cron", path="/etc/cron.daily/apt-compat", mode="755", user="root", group="root")
ops.text("/etc/apt/apt.conf.d/52hatang-unattended-upgrades", content.unattended_upgrades())

# --- monitoring ----------------------------------------------------------------------
snmp = ops.text("/etc/snmp/snmpd.conf", content.snmpd_conf(str(intent.host.address.ip), host.name, ops.snmp_v3()), mode="600")
ops.service("snmpd", restart_when=[snmp])
ops.service("cron")
