"""The backup the level-3 baseline asks for (control BAK-01): each data-holding server
dumps its data every night and sends it to the IIC backup server with rsync over SSH.

The transfer key is the ``backup-transfer`` credential (never in the repo): clients get
the private key, the backup server accepts its public half for ``rrsync`` only, write
only, inside its repository. A deploy runs the job whenever the control fails (the
first deploy, or a stale backup) and verifies the control after it; otherwise cron runs
it nightly and stamps each success.
"""

from __future__ import annotations

from pathlib import Path

from pyinfra.operations import files, server

from hatang.credentials import secret
from hatang.deploy import ops
from hatang.deploy.baseline import controls as c
from hatang.deploy.baseline.content import HEADER
from hatang.deploy.intent import HostIntent
from hatang.errors import HatangError

BACKUP_USER = "hbackup"
REPOSITORY = "/srv/backup/data"
SCRIPT = "/usr/local/sbin/hatang-backup"
CLIENT_KEY = "/root/.ssh/hatang-backup"
STAGING = "/var/backups/hatang"


def _private_key_file() -> Path:
    return Path(secret("backup-transfer", "ssh_private_key_file", env=ops.environment()))


def public_key() -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_ssh_private_key(_private_key_file().read_bytes(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def script(server_address: str, dumps: list[str]) -> str:
    ssh = f"ssh -i {CLIENT_KEY} -o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/root/.ssh/hatang-backup-known_hosts"
    return "#!/bin/sh\n" + HEADER + f"""# Nightly backup: dump locally, send to the IIC backup server, stamp the success.
set -eu
umask 077
DEST={STAGING}
mkdir -p "$DEST"
{chr(10).join(dumps)}
rsync -a --delete -e "{ssh}" "$DEST/" "{BACKUP_USER}@{server_address}:$(hostname)/"
mkdir -p "$(dirname {c.BACKUP_STAMP})"
touch {c.BACKUP_STAMP}
"""


def client(intent: HostIntent, dumps: list[str]) -> None:
    """Make this host a backup client running ``dumps`` (shell lines writing to $DEST)."""
    if intent.backup_server is None:
        raise HatangError("no server of the inventory has the role 'backup-server': nowhere to send backups")
    ops.packages(["rsync", "cron"])
    files.put(name="Backup transfer key", src=str(_private_key_file()), dest=CLIENT_KEY, mode="600", user="root", group="root")
    ops.text(SCRIPT, script(intent.backup_server, dumps), mode="750")
    ops.text(c.BACKUP_CRON, HEADER + f"30 1 * * * root {SCRIPT} >>/var/log/hatang-backup.log 2>&1\n")
    ops.service("cron")
    if ops.failing("BAK-01"):
        server.shell(name="Back up now, and verify (no recent successful backup)", commands=[
            f"{SCRIPT} >>/var/log/hatang-backup.log 2>&1 || {{ tail -3 /var/log/hatang-backup.log >&2; exit 1; }}",
            ops.check_command("BAK-01"),
        ])
