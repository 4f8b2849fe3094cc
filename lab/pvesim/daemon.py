"""Run the simulator: one HTTPS listener per node of each inventory cluster, in one process
(each node's pveproxy answers for its whole cluster; a node offline takes its own down).

On first start it creates the access database (root@pam with a random password, and
the ``hatang@pve!hatang`` API token with the roles docs/cloud.md recommends, no more) and writes those credentials to
``secrets.yaml`` (0600) in the shape of ``inventory/credentials.yaml``. It writes
``endpoints.json`` once every listener is up, and removes it when it stops.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import threading
from pathlib import Path
from typing import Any

import yaml

from hatang.cloud.schema import load as load_schema
from hatang.inventory import load as load_inventory
from hatang.lab.pvesim import certs
from hatang.lab.pvesim.access import Access
from hatang.lab.pvesim.faults import Faults
from hatang.lab.pvesim.files import write_json
from hatang.lab.pvesim.ha import HaManager
from hatang.lab.pvesim.server import ClusterSim, TLSServer, listener
from hatang.lab.pvesim.store import ClusterState, seed
from hatang.lab.pvesim.tasks import Tasks

HATANG_TOKEN = "hatang@pve!hatang"
# docs/cloud.md: what hatang's token needs, as PVE's built-in roles
HATANG_GRANTS = ["PVEVMAdmin", "PVEDatastoreUser", "PVESysAdmin", "HatangBackupJobs", "/sdn/zones/localnetwork=PVESDNUser"]
# /cluster/backup asks Sys.Modify on /, which only Administrator holds among the built-in roles
BACKUP_ROLE = ("HatangBackupJobs", ["Sys.Modify"])


def endpoints_file(directory: Path) -> Path:
    return directory / "endpoints.json"


def secrets_file(directory: Path) -> Path:
    return directory / "secrets.yaml"


def bootstrap_access(directory: Path) -> None:
    """The first start's users and token, and the secrets file that names them."""
    access = Access(directory)
    if access.path.exists() and secrets_file(directory).exists():
        # a state from an earlier version keeps its secret and gets today's roles
        access.add_role(*BACKUP_ROLE)
        access.add_token(HATANG_TOKEN, HATANG_GRANTS, secret=yaml.safe_load(secrets_file(directory).read_text())["pve-api"]["secret"])
        return
    password = secrets.token_urlsafe(18)
    access.add_user("root@pam", password, "Administrator")
    access.add_role(*BACKUP_ROLE)
    token = access.add_token(HATANG_TOKEN, HATANG_GRANTS)
    values = {"pve-api": {"token_id": HATANG_TOKEN, "secret": token}, "pve-root": {"username": "root@pam", "password": password}}
    fd = os.open(secrets_file(directory), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(values, handle, sort_keys=True)


def serve(directory: Path, inventory_dir: Path | None, env: str, host: str = "127.0.0.1",
          port_base: int = 0, task_seconds: float = 0.2, latency_ms: float = 0.0, fence_seconds: float = 10.0) -> None:
    """Serve until SIGTERM or SIGINT."""
    directory.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=directory / "pvesim.log", level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    inv = load_inventory(inventory_dir, env)
    cert, key = certs.make(directory, host)
    bootstrap_access(directory)
    faults, access, schema = Faults(directory), Access(directory), load_schema()
    servers: list[TLSServer] = []
    endpoints: dict[str, Any] = {}
    vms = inv.vms()
    for _, cluster in inv.clusters:
        state = ClusterState.open(directory / f"cluster-{cluster.name}.json", seed(cluster, vms))
        sim = ClusterSim(state, Tasks(state, faults, task_seconds), faults, access, schema, latency_ms / 1000)
        HaManager(state, faults, fence_seconds).start()
        ports = {}
        for node in cluster.nodes:  # every node runs pveproxy, and any of them answers for the cluster
            server = listener(sim, host, port_base + len(servers) if port_base else 0, cert, key, node.name)
            servers.append(server)
            ports[node.name] = server.server_address[1]
        first = ports[cluster.nodes[0].name]
        endpoints[cluster.name] = {"host": host, "port": first, "nodes": ports, "ca": str(cert), "pid": os.getpid()}
    threads = [threading.Thread(target=s.serve_forever, daemon=True, name=f"pvesim-{s.node}") for s in servers]
    for thread in threads:
        thread.start()
    write_json(endpoints_file(directory), endpoints)
    logging.info("serving %s", endpoints)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    endpoints_file(directory).unlink(missing_ok=True)
    for server in servers:
        server.shutdown()
        server.server_close()
