"""The controls of the security baseline, as data: id, area, clauses, what is checked, check.

An information system at level 3 (Decree 85/2016/NĐ-CP; requirements in TCVN
11930:2017, section 7 "requirements for level 3", technical part §7.2: §7.2.2 "server
security" and §7.2.4 "data security") must show authentication, access control, logging,
intrusion prevention and backup. These are the controls of those areas that a server
deploy can carry; the ``base`` role applies them, the backup roles the backup one.

Each control is defined once, here, and both audits are generated from it: the hatang
audit (:mod:`.audit`) and the Ansible playbook (:mod:`.playbook`). A check is a POSIX
shell snippet run as root on the host, after :data:`PRELUDE`; it reads only effective
state (``sshd -T``, ``stat``, ``nft list``, ``chronyc``…), exits 0 when the control
passes, and otherwise prints one line, ``found …; expected …`` (through ``fail``).
What depends on the host (its time servers, its firewall rules) comes from the
inventory as environment variables (:mod:`.expected`). The paths the roles write are
named here once, for both.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

DECREE = "Nghị định 85/2016/NĐ-CP"
STANDARD = "TCVN 11930:2017"

SSHD_CONFIG = "/etc/ssh/sshd_config"
PWQUALITY = "/etc/security/pwquality.conf.d/50-hatang-baseline.conf"
SESSION_TIMEOUT = "/etc/profile.d/hatang-session-timeout.sh"
SUDOERS = "/etc/sudoers.d/hatang-baseline"
AUDIT_RULES = "/etc/audit/rules.d/hatang-baseline.rules"
RSYSLOG_FORWARD = "/etc/rsyslog.d/60-hatang-forward.conf"
LOGROTATE = "/etc/logrotate.d/rsyslog"
CHRONY_CONF = "/etc/chrony/chrony.conf"
SYSCTL = "/etc/sysctl.d/90-hatang-baseline.conf"
AUTO_UPGRADES = "/etc/apt/apt.conf.d/20auto-upgrades"
NFTABLES_CONF = "/etc/nftables.conf"
BACKUP_CRON = "/etc/cron.d/hatang-backup"
BACKUP_STAMP = "/var/lib/hatang-backup/last-success"
#: The roles whose servers dump their data nightly to the backup server (BAK-01's job part).
BACKUP_DUMP_ROLES = ("postgresql", "web-portal")
#: BAK-01's environment: ``yes`` on a server of those roles; a guest's PVE backup status
#: (``fresh``, ``stale``, ``missing``, ``unknown``) with ``…_FOUND`` and ``…_EXPECTED``
#: (:mod:`.guest_backup`), unset on a host that is no guest of hatang's clusters.
BACKUP_DUMP = "HATANG_BACKUP_DUMP"
GUEST_BACKUP = "HATANG_GUEST_BACKUP"

SESSION_TIMEOUT_S = 900
SSH_CLIENT_ALIVE = (300, 3)  # ClientAliveInterval, ClientAliveCountMax
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_DAYS = 90
LOG_RETENTION_DAYS = 182  # 26 weeks: about six months, over the 3 months a level-3 system keeps
BACKUP_MAX_AGE_H = 26  # a daily job, with two hours of slack
TIMEZONE = "Asia/Ho_Chi_Minh"
#: How long LOG-04 waits for chronyd to be synchronised (a restarted one needs a few polls);
#: it fails at once when every source is offline (none would answer however long it waited).
TIME_SYNC_WAIT_S = 30

#: Mode, owner and group of each account file (``stat -c '%a %U %G'``).
ACCOUNT_FILES = {
    "/etc/passwd": "644 root root", "/etc/group": "644 root root",
    "/etc/shadow": "640 root shadow", "/etc/gshadow": "640 root shadow",
}
#: Mode, owner and group of the SSH and sudo files; a glob names every match.
SECURITY_FILES = {
    SSHD_CONFIG: "644 root root", "/etc/ssh/ssh_host_*_key": "600 root root",
    "/etc/sudoers": "440 root root", "/etc/sudoers.d/*": "440 root root",
}
#: The only NOPASSWD sudo rules a server may carry (exact lines); every other one is
#: disabled by the deploy. Reading the firewall needs no password.
NOPASSWD_ALLOWED = ("%iic-admins ALL=(root) NOPASSWD: /usr/sbin/nft list ruleset",)

#: Shell functions every check may use: ``fail FOUND EXPECTED`` ends the check,
#: ``sets_equal ACTUAL EXPECTED`` compares two newline-separated sets (prints the
#: difference), ``file_modes PATH=WANT…`` compares mode and owners with ``stat``,
#: ``sshd_has SETTING…`` compares settings of the effective sshd configuration.
PRELUDE = r"""fail() { printf 'found %s; expected %s\n' "$1" "$2"; exit 1; }
sets_equal() {
  HATANG_A="$1" HATANG_B="$2" awk 'BEGIN {
    na = split(ENVIRON["HATANG_A"], a, "\n"); nb = split(ENVIRON["HATANG_B"], b, "\n")
    for (i = 1; i <= nb; i++) if (b[i] != "") want[b[i]] = 1
    for (i = 1; i <= na; i++) if (a[i] != "" && !(a[i] in have)) { have[a[i]] = 1; if (!(a[i] in want)) extra = extra " [" a[i] "]" }
    for (k in want) if (!(k in have)) miss = miss " [" k "]"
    if (extra == "" && miss == "") exit 0
    printf "unexpected%s; missing%s", (extra == "" ? " none" : extra), (miss == "" ? " none" : miss); exit 1 }'
}
file_modes() {
  bad=""
  for spec in "$@"; do
    pattern=${spec%%=*}; want=${spec#*=}
    for f in $pattern; do
      [ -e "$f" ] || { case "$pattern" in *\**) continue ;; esac; }
      got=$(stat -c '%a %U %G' "$f" 2>/dev/null || echo missing)
      [ "$got" = "$want" ] || bad="$bad${bad:+, }$f $got"
    done
  done
  [ -z "$bad" ] || fail "$bad" "$(printf '%s, ' "$@" | sed 's/=/ /g; s/, $//')"
}
sshd_has() {
  c=$(sshd -T 2>/dev/null) || fail "no effective configuration (sshd -T fails)" "$*"
  bad=""
  for kv in "$@"; do
    echo "$c" | grep -qix "$kv" || bad="$bad${bad:+, }$(echo "$c" | grep -i "^${kv%% *} " | head -1 || true)"
  done
  [ -z "$bad" ] || fail "$bad (sshd -T)" "$(printf '%s, ' "$@" | sed 's/, $//')"
}
"""


@dataclass(frozen=True)
class Control:
    id: str
    area: str  # authentication, access control, logging, intrusion prevention, backup
    title: str
    decree: str  # the clause of Decree 85/2016 the control serves
    clause: str  # the section of TCVN 11930:2017
    how: str  # what is checked, and how (for docs/deploy.md)
    check: str
    roles: tuple[str, ...] = ("base",)  # the hosts it applies to: those with one of these roles
    kinds: tuple[str, ...] = ()  # and every host of these kinds (``vm``: every private-cloud guest)

    @property
    def reference(self) -> str:
        return f"{DECREE} {self.decree}; {STANDARD} {self.clause}"

    def applies_to(self, host_roles: tuple[str, ...] | list[str], kind: str = "") -> bool:
        return any(role in host_roles for role in self.roles) or kind in self.kinds


#: The clauses, as far as they could be checked (docs/deploy.md says how): the decree's
#: article for level 3's criteria is inferred (Art. 8 is level 2's), TCVN 11930:2017's
#: level-3 technical sections were checked (7.2.1 network, 7.2.2 server, 7.2.3
#: application, 7.2.4 data) but not from the standard's own text, their sub-items by name only.
LEVEL3 = "Art. 9 (level 3; inferred)"
SERVER = "§7.2.2 server security"  # TCVN 11930:2017, §7.2: level 3, technical requirements
DATA = "§7.2.4 data security"


def _quoted_alternatives(lines: tuple[str, ...]) -> str:
    return "|".join(shlex.quote(line) for line in lines)


def _modes(files: dict[str, str]) -> str:
    return "file_modes " + " ".join(shlex.quote(f"{path}={want}") for path, want in files.items())


CONTROLS: tuple[Control, ...] = (
    Control(
        "AUTH-01", "authentication", "root logs in over SSH by key only, never by password", LEVEL3, f"{SERVER}: authentication",
        "`sshd -T` (the effective configuration, every drop-in included): `permitrootlogin` is `prohibit-password` or `no`",
        "v=$(sshd -T 2>/dev/null | awk '$1 == \"permitrootlogin\" {print $2}')\n"
        "case \"$v\" in prohibit-password|without-password|no) ;; *) fail \"permitrootlogin ${v:-unreadable} (sshd -T)\" "
        "'permitrootlogin prohibit-password or no' ;; esac",
    ),
    Control(
        "AUTH-02", "authentication", "SSH accepts keys only (password and keyboard-interactive off)", LEVEL3, f"{SERVER}: authentication",
        "`sshd -T`: password, keyboard-interactive and empty-password logins off, public keys on, no other method",
        "sshd_has 'passwordauthentication no' 'kbdinteractiveauthentication no' 'permitemptypasswords no' "
        "'pubkeyauthentication yes' 'authenticationmethods any'",
    ),
    Control(
        "AUTH-03", "authentication", f"password policy: at least {PASSWORD_MIN_LENGTH} characters, changed every {PASSWORD_MAX_DAYS} days",
        LEVEL3, f"{SERVER}: authentication (password policy)",
        "the last `minlen` of pwquality's files, `pam_pwquality` in `common-password`, `PASS_MAX_DAYS` of `login.defs`",
        "m=$(cat /etc/security/pwquality.conf /etc/security/pwquality.conf.d/*.conf 2>/dev/null "
        "| sed -n 's/^[[:space:]]*minlen[[:space:]]*=[[:space:]]*\\([0-9]*\\).*/\\1/p' | tail -1)\n"
        f"[ \"${{m:-0}}\" -ge {PASSWORD_MIN_LENGTH} ] || fail \"minlen ${{m:-unset}}\" 'minlen >= {PASSWORD_MIN_LENGTH}'\n"
        "grep -qs '^[^#]*pam_pwquality.so' /etc/pam.d/common-password || fail 'no pam_pwquality in /etc/pam.d/common-password' 'pam_pwquality.so'\n"
        "d=$(awk '$1 == \"PASS_MAX_DAYS\" {print $2}' /etc/login.defs)\n"
        f"[ \"${{d:-99999}}\" -le {PASSWORD_MAX_DAYS} ] || fail \"PASS_MAX_DAYS ${{d:-unset}}\" 'PASS_MAX_DAYS <= {PASSWORD_MAX_DAYS}'",
    ),
    Control(
        "AUTH-04", "authentication", f"idle sessions end after {SESSION_TIMEOUT_S // 60} minutes (shell and SSH)", LEVEL3,
        f"{SERVER}: authentication (session timeout)",
        f"`TMOUT` read-only in `{SESSION_TIMEOUT}`, at most {SESSION_TIMEOUT_S} s; `sshd -T`: `clientaliveinterval`, `clientalivecountmax`",
        f"t=$(sed -n 's/^TMOUT=\\([0-9]*\\)$/\\1/p' {SESSION_TIMEOUT} 2>/dev/null)\n"
        f"[ -n \"$t\" ] && [ \"$t\" -gt 0 ] && [ \"$t\" -le {SESSION_TIMEOUT_S} ] || fail \"TMOUT ${{t:-unset}}\" 'TMOUT 1..{SESSION_TIMEOUT_S}'\n"
        f"grep -qs '^readonly TMOUT' {SESSION_TIMEOUT} || fail 'TMOUT not read-only' 'readonly TMOUT'\n"
        f"sshd_has 'clientaliveinterval {SSH_CLIENT_ALIVE[0]}' 'clientalivecountmax {SSH_CLIENT_ALIVE[1]}'",
    ),
    Control(
        "AUTH-05", "authentication", "no account has an empty password", LEVEL3, f"{SERVER}: authentication",
        "`/etc/shadow`: no entry with an empty password field",
        "u=$(awk -F: '$2 == \"\" {printf \"%s \", $1}' /etc/shadow)\n"
        "[ -z \"$u\" ] || fail \"empty password: ${u% }\" 'no account with an empty password'",
    ),
    Control(
        "AUTH-06", "authentication", "no account but root has uid 0", LEVEL3, f"{SERVER}: authentication (unique identities)",
        "`/etc/passwd`: uid 0 belongs to `root` alone",
        "u=$(awk -F: '$3 == 0 && $1 != \"root\" {printf \"%s \", $1}' /etc/passwd)\n"
        "[ -z \"$u\" ] || fail \"uid 0: root ${u% }\" 'uid 0: root only'",
    ),
    Control(
        "AUTH-07", "authentication", "SSH is reachable from the IIC management network only", LEVEL3,
        f"{SERVER}: access control (remote administration)",
        "`nft list chain inet hatang input`: the rules accepting port 22 are exactly the inventory's (the management "
        "network; on the backup server also its clients)",
        "r=$(nft list chain inet hatang input 2>/dev/null) || fail 'no nftables chain inet hatang input' \"$HATANG_SSH_RULES\"\n"
        "d=$(sets_equal \"$(echo \"$r\" | sed 's/^[[:space:]]*//; s/\"//g' | grep ' dport 22 ')\" \"$HATANG_SSH_RULES\") || fail \"$d\" 'SSH rules of the inventory only'",
    ),
    Control(
        "ACC-01", "access control", "sudo: the administrators' group, with a password, every command logged; no NOPASSWD but the declared",
        LEVEL3, f"{SERVER}: access control",
        f"`{SUDOERS}` present with a `logfile`, `visudo -c` clean, and every `NOPASSWD` line of the files sudo reads "
        "(`/etc/sudoers`, `/etc/sudoers.d/*` without a dot or `~`) is one of the declared list",
        f"test -f {SUDOERS} || fail 'no {SUDOERS}' '{SUDOERS}'\n"
        f"grep -qs 'logfile=' {SUDOERS} || fail 'no logfile in {SUDOERS}' 'Defaults logfile'\n"
        "visudo -cq >/dev/null 2>&1 || fail 'errors in sudoers (visudo -c)' 'valid sudoers'\n"
        "bad=\"\"\nfor f in /etc/sudoers /etc/sudoers.d/*; do case \"${f##*/}\" in *.*|*~) continue ;; esac; [ -f \"$f\" ] || continue\n"
        "  while IFS= read -r l; do l=$(echo \"$l\" | sed 's/^[[:space:]]*//'); [ -n \"$l\" ] || continue\n"
        f"    case \"$l\" in {_quoted_alternatives(NOPASSWD_ALLOWED)}) ;; *) bad=\"$bad${{bad:+, }}$f: $l\" ;; esac\n"
        "  done <<EOF\n$(grep -s '^[^#]*NOPASSWD' \"$f\")\nEOF\ndone\n"
        "[ -z \"$bad\" ] || fail \"NOPASSWD $bad\" 'no NOPASSWD but the declared list'",
    ),
    Control(
        "ACC-02", "access control", "the SSH and sudo files have exact modes and owners", LEVEL3, f"{SERVER}: access control",
        "`stat -c '%a %U %G'` of each file equals its expected mode and owners: "
        + ", ".join(f"`{p}` {w}" for p, w in SECURITY_FILES.items()),
        _modes(SECURITY_FILES),
    ),
    Control(
        "ACC-03", "access control", "the account files have exact modes and owners", LEVEL3, f"{SERVER}: access control",
        "`stat -c '%a %U %G'`: " + ", ".join(f"`{p}` {w}" for p, w in ACCOUNT_FILES.items()),
        _modes(ACCOUNT_FILES),
    ),
    Control(
        "FW-01", "intrusion prevention", "a host firewall drops inbound traffic but each role's ports, from the inventory", LEVEL3,
        f"{SERVER}: intrusion prevention (host access control)",
        "`nft list chain inet hatang input`: an input hook with `policy drop`, and its rules (but port 22's) exactly the "
        "inventory's for the host's roles",
        "r=$(nft list chain inet hatang input 2>/dev/null) || fail 'no nftables chain inet hatang input' 'chain inet hatang input, policy drop'\n"
        "echo \"$r\" | grep -q 'hook input .*policy drop;' || fail \"$(echo \"$r\" | grep -o 'policy [a-z]*' || echo 'no input hook')\" 'policy drop'\n"
        "d=$(sets_equal \"$(echo \"$r\" | sed 's/^[[:space:]]*//; s/\"//g' | grep -E '(accept|drop|reject)$' | grep -v ' dport 22 ')\" \"$HATANG_FIREWALL\") "
        "|| fail \"$d\" \"the roles' rules\"",
    ),
    Control(
        "LOG-01", "logging", "audit rules watch identity, sudo, SSH and time changes; auditd runs where the kernel allows",
        LEVEL3, f"{SERVER}: system logs",
        f"`{AUDIT_RULES}` watches the account, sudo and SSH files; `auditd` runs unless the kernel refuses audit (`auditctl -s`)",
        f"grep -qs -- '-w /etc/passwd' {AUDIT_RULES} && grep -qs -- '-w /etc/sudoers' {AUDIT_RULES} || fail 'no watch rules in {AUDIT_RULES}' 'identity and sudo watches'\n"
        "pidof auditd >/dev/null || ! auditctl -s >/dev/null 2>&1 || fail 'auditd not running' 'auditd running'",
    ),
    Control(
        "LOG-02", "logging", "system logs are forwarded to the IIC syslog server", LEVEL3,
        f"{SERVER}: system logs (central log collection)",
        "an `omfwd` action to the inventory's syslog server in `/etc/rsyslog.d/*.conf`, and `rsyslogd` running",
        "t=$(cat /etc/rsyslog.d/*.conf 2>/dev/null | sed -n 's/.*type=\"omfwd\".*target=\"\\([^\"]*\\)\".*/\\1/p' | sort -u)\n"
        "[ \"$t\" = \"$HATANG_SYSLOG_SERVER\" ] || fail \"forwarding to ${t:-nowhere}\" \"$HATANG_SYSLOG_SERVER\"\n"
        "pidof rsyslogd >/dev/null || fail 'rsyslogd not running' 'rsyslogd running'",
    ),
    Control(
        "LOG-03", "logging", f"local logs are kept at least {LOG_RETENTION_DAYS} days (26 weeks)", LEVEL3,
        f"{SERVER}: system logs (retention)",
        f"`{LOGROTATE}` (defaults from `/etc/logrotate.conf`): `rotate` × the period's days, capped by `maxage`",
        f"[ -f {LOGROTATE} ] || fail 'no {LOGROTATE}' 'rotation keeping {LOG_RETENTION_DAYS} days'\n"
        "d=$(awk 'FNR == 1 {f++} $1 ~ /^(daily|weekly|monthly|yearly)$/ {p[f] = $1} $1 == \"rotate\" {r[f] = $2} $1 == \"maxage\" {m[f] = $2}\n"
        "  END {per = p[2] ? p[2] : (p[1] ? p[1] : \"weekly\"); n = (2 in r) ? r[2] : ((1 in r) ? r[1] : 0)\n"
        "       len = per == \"daily\" ? 1 : per == \"weekly\" ? 7 : per == \"monthly\" ? 30 : 365; days = n * len\n"
        "       if ((2 in m) && m[2] < days) days = m[2]\n"
        f"       printf \"rotate %s %s = %d days\", n, per, days; exit !(days >= {LOG_RETENTION_DAYS}) }}' /etc/logrotate.conf {LOGROTATE}) "
        f"|| fail \"$d\" '>= {LOG_RETENTION_DAYS} days'",
    ),
    Control(
        "LOG-04", "logging", "the clock is synchronised to an IIC time server, and follows those only (log timestamps agree)", LEVEL3,
        f"{SERVER}: system logs (time synchronisation)",
        f"the servers of `{CHRONY_CONF}` and the sources of the running chronyd (`chronyc -n -c sources`) are exactly the "
        "inventory's NTP servers; `chronyc -n -c tracking`: the reference is one of them and the leap status `Normal` "
        f"(waiting up to {TIME_SYNC_WAIT_S} s, as a restarted chronyd takes a few polls, but not while every source is offline: "
        f"`chronyc -c activity`, nothing would come); the zone is {TIMEZONE}",
        "pidof chronyd >/dev/null || fail 'chronyd not running' 'chronyd running'\n"
        "want=$(printf %s \"$HATANG_NTP_SERVERS\" | tr '\\n' ' ')\n"
        f"d=$(sets_equal \"$(awk '$1 == \"server\" || $1 == \"pool\" || $1 == \"peer\" {{print $2}}' {CHRONY_CONF} 2>/dev/null)\" \"$HATANG_NTP_SERVERS\") "
        f"|| fail \"{CHRONY_CONF}: $d\" \"$want\"\n"
        "d=$(sets_equal \"$(chronyc -n -c sources 2>/dev/null | cut -d, -f3)\" \"$HATANG_NTP_SERVERS\") || fail \"chronyd sources: $d\" \"$want\"\n"
        "n=0; sync=\"synchronised to one of $want, leap status Normal\"\nwhile :; do\n"
        "  t=$(chronyc -n -c tracking 2>/dev/null); ref=$(echo \"$t\" | cut -d, -f2); leap=$(echo \"$t\" | awk -F, '{print $NF}')\n"
        "  [ \"$leap\" = Normal ] && printf '%s\\n' \"$HATANG_NTP_SERVERS\" | grep -qxF \"${ref:-none}\" && break\n"
        "  found=\"reference ${ref:-none}, leap status ${leap:-unknown} (chronyc tracking)\"\n"
        "  live=$(chronyc -c activity 2>/dev/null | awk -F, '{n += $1 + $3 + $4 + $5} END {print n + 0}')\n"
        "  [ \"${live:-0}\" -gt 0 ] || fail \"$found, every source offline (chronyc activity)\" \"$sync\"\n"
        f"  n=$((n + 1)); [ \"$n\" -lt {TIME_SYNC_WAIT_S} ] || fail \"$found\" \"$sync\"\n"
        "  sleep 1\ndone\n"
        f"z=$(readlink -f /etc/localtime); [ \"$z\" = /usr/share/zoneinfo/{TIMEZONE} ] || fail \"zone $z\" '{TIMEZONE}'",
    ),
    Control(
        "SYS-01", "intrusion prevention", "security updates install unattended", LEVEL3, f"{SERVER}: intrusion prevention (patching)",
        "`unattended-upgrades` installed (`dpkg-query`), `APT::Periodic::Unattended-Upgrade \"1\"` (`apt-config dump`), and "
        "its timer active (`apt-daily-upgrade.timer` under systemd, else cron running `/etc/cron.daily/apt-compat`)",
        "s=$(dpkg-query -W -f='${Status}' unattended-upgrades 2>/dev/null)\n"
        "[ \"$s\" = 'install ok installed' ] || fail \"unattended-upgrades ${s:-not installed}\" 'unattended-upgrades install ok installed'\n"
        "apt-config dump 2>/dev/null | grep -qx 'APT::Periodic::Unattended-Upgrade \"1\";' "
        "|| fail \"APT::Periodic::Unattended-Upgrade $(apt-config dump 2>/dev/null | sed -n 's/^APT::Periodic::Unattended-Upgrade //p')\" '\"1\"'\n"
        "if [ -d /run/systemd/system ]; then t=$(systemctl is-active apt-daily-upgrade.timer); [ \"$t\" = active ] || fail \"apt-daily-upgrade.timer $t\" 'active'\n"
        "else [ -x /etc/cron.daily/apt-compat ] && pidof cron >/dev/null || fail 'no cron running /etc/cron.daily/apt-compat (no systemd)' 'cron running apt-compat daily'; fi",
    ),
    Control(
        "SYS-02", "intrusion prevention", "kernel network and memory hardening is set for every boot", LEVEL3,
        f"{SERVER}: intrusion prevention",
        f"`{SYSCTL}` sets `accept_redirects 0` and `kptr_restrict 2` (containers cannot apply them live)",
        f"grep -qs '^net.ipv4.conf.all.accept_redirects *= *0' {SYSCTL} && grep -qs '^kernel.kptr_restrict *= *2' {SYSCTL} "
        f"|| fail 'hardening missing from {SYSCTL}' 'accept_redirects 0, kptr_restrict 2'",
    ),
    Control(
        "BAK-01", "backup", "data is backed up: a cloud guest's newest PVE backup within its class's RPO; a data server's "
        f"nightly job configured and succeeded in the last {BACKUP_MAX_AGE_H} hours", LEVEL3,
        f"{DATA}: backup",
        "a guest of hatang's clusters: its newest vzdump archive younger than its class's RPO, the freshness "
        "`hatang cloud backups` reports (`hatang.cloud.backup_report`, read from PVE by hatang and handed to the check "
        f"as `${GUEST_BACKUP}…`); postgresql and web-portal also: `{BACKUP_CRON}` present, `{BACKUP_STAMP}` (touched by "
        f"each successful run) younger than {BACKUP_MAX_AGE_H} h",
        f"case \"${{{GUEST_BACKUP}:-}}\" in ''|fresh) ;; *) fail \"${GUEST_BACKUP}_FOUND\" \"${GUEST_BACKUP}_EXPECTED\" ;; esac\n"
        f"[ \"${{{BACKUP_DUMP}:-}}\" = yes ] || exit 0\n"
        f"test -f {BACKUP_CRON} || fail 'no {BACKUP_CRON}' 'a daily job'\n"
        f"s=$(stat -c %Y {BACKUP_STAMP} 2>/dev/null) || fail 'no successful backup' 'a success within {BACKUP_MAX_AGE_H} h'\n"
        f"a=$(( ($(date +%s) - s) / 3600 )); [ \"$a\" -lt {BACKUP_MAX_AGE_H} ] || fail \"last success $a h ago\" 'within {BACKUP_MAX_AGE_H} h'",
        roles=BACKUP_DUMP_ROLES, kinds=("vm",),
    ),
)

BY_ID = {c.id: c for c in CONTROLS}
