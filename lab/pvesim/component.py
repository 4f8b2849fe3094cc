"""The lab component: the simulator as one daemon of the lab, with its token in the lab secrets.

``up`` starts it through the lab's process registry (so ``hatang lab down`` stops it by
recorded pid), waits for its endpoints, and writes the ``pve-api`` token it generated
into the lab secrets file, where ``hatang.credentials.secret("pve-api", …, env="lab")``
finds it. Its state (clusters, access, faults) stays in ``<lab state>/pvesim``, which
is where ``hatang.cloud.client`` looks for the endpoints.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hatang.lab.context import LabContext

name = "pvesim"
PROC = "pvesim"
SECRET_REF = "pve-api"


def up(ctx: "LabContext") -> None:
    import yaml

    from hatang.lab import secrets as lab_secrets
    from hatang.lab.pvesim.daemon import secrets_file
    from hatang.lab.pvesim.launch import command, wait_ready

    directory = ctx.path("pvesim")
    pid = ctx.spawn(PROC, command(directory, ctx.inventory.directory), log=directory / "stderr.log")
    wait_ready(directory, pid, lambda: ctx.running(PROC))
    token = yaml.safe_load(secrets_file(directory).read_text())[SECRET_REF]
    values = ctx.secrets
    if values.get(SECRET_REF) != token:
        lab_secrets.write({**values, SECRET_REF: token})


def down(ctx: "LabContext") -> None:
    from hatang.lab import secrets as lab_secrets

    ctx.stop(PROC)
    values = lab_secrets.read()
    if values and SECRET_REF in values:
        lab_secrets.write({k: v for k, v in values.items() if k != SECRET_REF})


def status(ctx: "LabContext") -> list[dict[str, Any]]:
    from hatang.lab.pvesim.daemon import endpoints_file

    path = endpoints_file(ctx.state_dir / "pvesim")
    endpoints = json.loads(path.read_text()) if path.exists() else {}
    running = ctx.running(PROC)
    if not endpoints:
        return [{"name": "pvesim", "running": running, "endpoints": "none"}]
    return [{"name": f"pvesim {cluster}", "running": running, "url": f"https://{e['host']}:{e['port']}/api2/json"}
            for cluster, e in sorted(endpoints.items())]
