"""What the checks expect of one host, from the inventory: the environment variables the
controls' checks read (``$HATANG_NTP_SERVERS``…). The hatang audit exports them before
its script; the Ansible audit passes them as the task's ``environment``; the deploy's
repairs ask the same checks with the same values."""

from __future__ import annotations

import shlex

from hatang.deploy.baseline import firewall
from hatang.deploy.baseline.controls import BACKUP_DUMP, BACKUP_DUMP_ROLES
from hatang.deploy.intent import HostIntent


def environment(intent: HostIntent) -> dict[str, str]:
    rules = firewall.rules(intent)
    return {  # rules without double quotes (``iif "lo"``): Ansible's environment drops them; the checks do too
        "HATANG_NTP_SERVERS": "\n".join(intent.ntp_servers),
        "HATANG_SYSLOG_SERVER": intent.syslog_server,
        "HATANG_SSH_RULES": "\n".join(rules.ssh).replace('"', ""),
        "HATANG_FIREWALL": "\n".join(rules.other).replace('"', ""),
        BACKUP_DUMP: "yes" if any(role in intent.host.roles for role in BACKUP_DUMP_ROLES) else "no",
    }


def exports(env: dict[str, str]) -> str:
    """Shell lines exporting ``env``."""
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
