"""The backup the level-3 baseline asks for (control BAK-01): each data-holding server
dumps its data every night and sends it to the IIC backup server with rsync over SSH.

The transfer key is the ``backup-transfer`` credential (never in the repo): clients get
the private key, the backup server accepts its public half for ``rrsync`` only, write
only, inside its repository; the client knows the server's host key from the deploy
(never learnt on first contact). A deploy runs the job whenever the control fails (the
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
KNOWN_HOSTS = "/root/.ssh/hatang-backup-known_hosts"  # the backup server's keys only, pinned at deploy
STAGING = "/var/backups/hatang"
#: The only command the backup key may run on the backup server (write-only, inside the repository).
RRSYNC = f"/usr/bin/rrsync -wo -no-lock {REPOSITORY}"


def _private_key_file() -> Path:
    return Path(secret("backup-transfer", "ssh_private_key_file", env=ops.environment()))


def public_key() -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_ssh_private_key(_private_key_file().read_bytes(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def server_known_hosts(address: str, env: str) -> str:
    """The backup server's host key lines, taken from the known_hosts hatang's own logins
    trust: the transfer is pinned to them and never learns a key on first contact (which
    ``StrictHostKeyChecking=accept-new`` did, trusting whoever answered first)."""
    import paramiko

    from hatang.deploy.login import login

    trusted = login(env).known_hosts or Path.home() / ".ssh" / "known_hosts"
    keys = paramiko.HostKeys()
    try:
        keys.load(str(trusted))
    except (OSError, paramiko.SSHException, paramiko.hostkeys.InvalidHostKey) as exc:
        raise HatangError(f"cannot read the known hosts {trusted} for the backup server's key: {exc}") from None
    found = keys.lookup(address)
    if not found:
        raise HatangError(f"no host key of the backup server {address} in {trusted}: deploy or log in to it first, checking its key")
    return "".join(f"{address} {kind} {key.get_base64()}\n" for kind, key in sorted(found.items()))


def script(server_address: str, dumps: list[str]) -> str:
    ssh = f"ssh -i {CLIENT_KEY} -o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=yes -o UserKnownHostsFile={KNOWN_HOSTS}"
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
    ops.text(KNOWN_HOSTS, HEADER + server_known_hosts(intent.backup_server, ops.environment()))
    ops.text(SCRIPT, script(intent.backup_server, dumps), mode="750")
    ops.text(c.BACKUP_CRON, HEADER + f"30 1 * * * root {SCRIPT} >>/var/log/hatang-backup.log 2>&1\n")
    ops.service("cron")
    if ops.failing("BAK-01"):
        server.shell(name="Back up now, and verify (no recent successful backup)", commands=[
            f"{SCRIPT} >>/var/log/hatang-backup.log 2>&1 || {{ tail -3 /var/log/hatang-backup.log >&2; exit 1; }}",
            ops.check_command("BAK-01"),
        ])
