"""pyinfra deploy: ``base``, the Debian baseline every IIC server carries.

Packages, time (chrony to the IIC's servers, Asia/Ho_Chi_Minh), the administrators and
their keys, SSH hardening, the level-3 security baseline (password policy, session
timeout, sudo, file permissions, auditd, remote syslog and retention, sysctl,
unattended security upgrades) and snmpd for the monitoring.

Run by pyinfra (``hatang deploy base`` does: ``pyinfra INVENTORY deploy/roles/base.py``).
"""

from pyinfra import host
from pyinfra.operations import files, server

from hatang.deploy import ops
from hatang.deploy.baseline import content
from hatang.deploy.baseline import controls as c
from hatang.deploy.facts import CAP_AUDIT_CONTROL, CAP_SYS_TIME, BoundingCapabilities, KernelSettingsWritable

#: The IIC's administrators' account, logging in with the server-admin key.
ADMIN_ACCOUNT = "iicadmin"

intent = ops.intent()
capabilities = host.get_fact(BoundingCapabilities)

ops.packages(["sudo", "chrony", "rsyslog", "logrotate", "auditd", "unattended-upgrades", "snmpd", "cron", "libpam-pwquality"])

# --- time --------------------------------------------------------------------------
files.link(name="Time zone Asia/Ho_Chi_Minh", path="/etc/localtime", target=f"/usr/share/zoneinfo/{content.TIMEZONE}")
ops.text("/etc/timezone", content.TIMEZONE + "\n")
chrony = [
    ops.text(c.CHRONY_CONF, content.chrony_conf(intent.ntp_servers)),
    ops.text("/etc/default/chrony", content.chrony_defaults(can_set_clock=CAP_SYS_TIME in capabilities)),
]
ops.service("chrony", restart_when=chrony)

# --- administrators ---------------------------------------------------------------
server.group(name=f"Group {content.ADMIN_GROUP}", group=content.ADMIN_GROUP)
server.user(
    name=f"Administrator {ADMIN_ACCOUNT}", user=ADMIN_ACCOUNT, groups=[content.ADMIN_GROUP], shell="/bin/bash",
    create_home=True, public_keys=[ops.admin_public_key()], delete_keys=True,
)

# --- SSH ---------------------------------------------------------------------------
sshd = ops.text(c.SSHD_BASELINE, content.sshd_baseline(), mode="600")
ops.command_if("Check the SSH server configuration", "sshd -t", [sshd])
ops.service("ssh", restart_when=[sshd], reload=True)

# --- authentication and access control ---------------------------------------------
ops.text(c.PWQUALITY, content.pwquality())
files.line(name=f"Passwords expire after {c.PASSWORD_MAX_DAYS} days", path="/etc/login.defs",
           line=r"^PASS_MAX_DAYS\s.*", replace=f"PASS_MAX_DAYS\t{c.PASSWORD_MAX_DAYS}")
ops.text(c.SESSION_TIMEOUT, content.session_timeout())
ops.text(c.SUDOERS, content.sudoers(), mode="440")
for path, mode, group in (("/etc/shadow", "640", "shadow"), ("/etc/gshadow", "640", "shadow"), ("/etc/ssh/sshd_config", "644", "root")):
    files.file(name=f"Permissions of {path}", path=path, mode=mode, user="root", group=group)

# --- logging -----------------------------------------------------------------------
audit = ops.text(c.AUDIT_RULES, content.audit_rules(), mode="640")
if CAP_AUDIT_CONTROL in capabilities:
    ops.command_if("Load the audit rules", "augenrules --load", [audit])
    ops.service("auditd")
rsyslog = [
    ops.text(c.RSYSLOG_FORWARD, content.rsyslog_forward(intent.syslog_server)),
    ops.text(c.LOGROTATE, content.logrotate()),
]
ops.service("rsyslog", restart_when=rsyslog[:1], daemon=ops.Daemon("/usr/sbin/rsyslogd", "/run/rsyslogd.pid"))

# --- hardening ---------------------------------------------------------------------
sysctl = ops.text(c.SYSCTL, content.sysctl())
if host.get_fact(KernelSettingsWritable):
    ops.command_if("Apply the kernel settings", f"sysctl -q -p {c.SYSCTL}", [sysctl])
ops.text(c.AUTO_UPGRADES, content.auto_upgrades())
ops.text("/etc/apt/apt.conf.d/52hatang-unattended-upgrades", content.unattended_upgrades())

# --- monitoring ----------------------------------------------------------------------
snmp = ops.text("/etc/snmp/snmpd.conf", content.snmpd_conf(str(intent.host.address.ip), host.name, ops.snmp_v3()), mode="600")
ops.service("snmpd", restart_when=[snmp])
ops.service("cron")
