"""A Proxmox VE API simulator for the lab (Proxmox itself cannot be installed here).

One process serves every cluster of the inventory's data center, each on its own HTTPS
port of 127.0.0.1, as each real PVE cluster has its own API endpoint. It holds to the
official API schema (``hatang.cloud.schema``): requests the schema does not declare are
refused as PVE refuses them. State lives on disk in the simulator's directory:

- ``cluster-<name>.json``: the cluster (nodes, storage, guests, HA), written atomically;
- ``access.json``: users and API tokens with their role (shared by the clusters);
- ``faults.json``: injected faults (offline nodes, failing tasks, forced HTTP errors,
  held locks), the admin hook, outside ``/api2/json``: ``python -m hatang.lab.pvesim``;
- ``endpoints.json``: where each cluster listens and the certificate that proves it;
- ``secrets.yaml`` (0600): the generated hatang API token and root password.
"""

from hatang.lab.pvesim.component import down, name, status, up  # the lab component

__all__ = ["down", "name", "status", "up"]
