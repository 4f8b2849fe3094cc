"""pyinfra deploy: ``postgresql``, the shared database servers of the applications.

PostgreSQL from Debian, listening on localhost and the server's own address, SCRAM
passwords only, connections and disconnections logged; the applications' networks
(the ``app`` and ``dmz-web`` VLANs) may connect with a password, nothing else. A
nightly ``pg_dumpall`` goes to the IIC backup server.
"""

from pyinfra import host
from pyinfra.facts.server import LinuxDistribution
from pyinfra.operations import files

from hatang.deploy import backup, ops
from hatang.deploy.baseline.content import HEADER

#: PostgreSQL's major version in each Debian release (the ``postgresql`` package's).
VERSION_BY_CODENAME = {"bullseye": "13", "bookworm": "15", "trixie": "17"}

intent = ops.intent()
codename = (host.get_fact(LinuxDistribution).get("release_meta") or {}).get("VERSION_CODENAME", "bookworm")
version = VERSION_BY_CODENAME.get(codename, "15")
confdir = f"/etc/postgresql/{version}/main"

ops.packages(["postgresql"])
settings = ops.text(f"{confdir}/conf.d/50-hatang.conf", HEADER + f"""listen_addresses = 'localhost,{intent.host.address.ip}'
password_encryption = scram-sha-256
log_connections = on
log_disconnections = on
log_line_prefix = '%m [%p] %q%u@%d from %h '
""", user="postgres", group="postgres")
access = [
    files.line(name=f"Applications of {net} connect with a password", path=f"{confdir}/pg_hba.conf",
               line=f"host all all {net} scram-sha-256")
    for net in intent.app_networks
]
ops.service("postgresql", restart_when=[settings])
ops.command_if("Reload PostgreSQL's access rules", "runuser -u postgres -- psql -qAtc 'SELECT pg_reload_conf()' >/dev/null", access)

backup.client(intent, ['runuser -u postgres -- pg_dumpall | gzip > "$DEST/pg_dumpall.sql.gz"'])
