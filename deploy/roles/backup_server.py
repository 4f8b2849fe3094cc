"""pyinfra deploy: ``backup-server``, the repository the IIC's servers back up to.

A system account receives backups over SSH with the ``backup-transfer`` key, which
may only run ``rrsync`` write-only inside the repository: a client can send its
backup but neither read another's nor run a shell. Every client writes only its own
``<hostname>/`` directory, so rrsync's lock on the whole repository is off (``-no-lock``):
with it, every nightly job but the first of those running at once would fail.
"""

from pyinfra.operations import files, server

from hatang.deploy import backup, ops
from hatang.deploy.baseline.content import HEADER

ops.packages(["rsync", "openssh-server"])
server.user(name=f"Backup account {backup.BACKUP_USER}", user=backup.BACKUP_USER, home="/srv/backup", shell="/bin/sh",
            system=True, create_home=True)
files.directory(name="Backup repository", path=backup.REPOSITORY, user=backup.BACKUP_USER, group=backup.BACKUP_USER, mode="700")
files.directory(name="Backup account's SSH directory", path="/srv/backup/.ssh", user=backup.BACKUP_USER, group=backup.BACKUP_USER, mode="700")
ops.text("/srv/backup/.ssh/authorized_keys", HEADER + f'restrict,command="{backup.RRSYNC}" {backup.public_key()}\n',
         mode="600", user=backup.BACKUP_USER, group=backup.BACKUP_USER)
