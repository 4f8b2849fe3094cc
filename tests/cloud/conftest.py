"""The cloud room's fixtures: a Proxmox simulator per test, started and stopped by pid.

Every test that uses ``sim`` also has every API call hatang made during it checked
against the official schema at teardown (the contract holds in every scenario).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from hatang.cloud import client, schema
from hatang.cloud.apply import ApplyReport, apply
from hatang.cloud.plan import plan
from hatang.inventory import load
from hatang.inventory.inventory import Inventory
from hatang.lab.pvesim.launch import Simulator
from waiting import eventually


def write_ssh_key(directory: Path) -> Path:
    key = ed25519.Ed25519PrivateKey.generate()
    path = directory / "id_ed25519"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))
    path.chmod(0o600)
    return path


def admin_env(patch: pytest.MonkeyPatch, directory: Path) -> None:
    """A private state directory and the server-admin credential cloud-init needs."""
    patch.setenv("HATANG_STATE_DIR", str(directory / "state"))
    patch.setenv("HATANG_SECRET_SERVER_ADMIN_USERNAME", "htadmin")
    patch.setenv("HATANG_SECRET_SERVER_ADMIN_SSH_PRIVATE_KEY_FILE", str(write_ssh_key(directory)))


@pytest.fixture
def hatang_tmp_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """hatang's environment with no simulator (and no lab) behind it."""
    admin_env(monkeypatch, tmp_path)
    monkeypatch.delenv("HATANG_PVE_ENDPOINTS", raising=False)
    monkeypatch.setenv("HATANG_SECRET_PVE_API_TOKEN_ID", "hatang@pve!hatang")
    monkeypatch.setenv("HATANG_SECRET_PVE_API_SECRET", "unused")
    return tmp_path


@contextmanager
def simulator(directory: Path, task_seconds: float = 0.02, fence_seconds: float = 10.0) -> Iterator[Simulator]:
    """A running simulator seeded from the repository's inventory, hatang pointed at it
    (private state directory, the simulator's token, a server-admin key for cloud-init);
    every API call hatang makes meanwhile is checked against the schema at the end."""
    with pytest.MonkeyPatch.context() as patch:
        admin_env(patch, directory)
        with Simulator(directory / "pvesim", task_seconds=task_seconds, fence_seconds=fence_seconds) as running:
            for key, value in running.environment().items():
                patch.setenv(key, value)
            with client.recording() as calls:
                yield running
    violations = contract_violations(calls)
    assert not violations, "hatang made calls the PVE schema does not allow:\n" + "\n".join(violations)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Simulator]:
    with simulator(tmp_path) as running:
        yield running


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Simulator, Inventory, ApplyReport]]:
    """One simulator per module with the whole inventory applied (for read-only tests)."""
    with simulator(tmp_path_factory.mktemp("applied")) as running:
        inventory = load(None, "lab")
        yield running, inventory, apply(inventory, concurrency=8, show_progress=False)


def contract_violations(calls: client.CallLog) -> list[str]:
    contract = schema.load()
    out = []
    for call in calls.calls:
        try:
            errors = contract.check(call.verb, call.path, call.params)
        except schema.RouteError as exc:
            out.append(f"{call.verb} {call.path}: {exc}")
            continue
        out += [f"{call.verb} {call.path}: {name}: {problem}" for name, problem in errors.items()]
    return out


@pytest.fixture
def inv():
    return load(None, "lab")


def token_client(sim: Simulator, cluster: str, tokenid: str, role: str | list[str]):
    """A proxmoxer client with another token (a colleague working by hand, an auditor…)."""
    return directory_client(sim.directory, cluster, tokenid, role)


def directory_client(directory: Path, cluster: str, tokenid: str, role: str | list[str]):
    """The same, to the simulator serving from ``directory`` (the lab's, too)."""
    import json

    from proxmoxer import ProxmoxAPI

    from hatang.lab.pvesim.access import Access
    from hatang.lab.pvesim.daemon import endpoints_file

    secret = Access(directory).add_token(tokenid, role)
    end = json.loads(endpoints_file(directory).read_text())[cluster]
    user, _, name = tokenid.partition("!")
    return ProxmoxAPI(end["host"], port=end["port"], user=user, token_name=name, token_value=secret, verify_ssl=end["ca"])


def guests(api, name: str | None = None) -> list[dict]:
    """The cluster's non-template guests (optionally those called ``name``)."""
    return [r for r in api.cluster.resources.get(type="vm") if not r.get("template") and (name is None or r["name"] == name)]


# A colleague working by hand: VM administration, and SDN.Use on the local bridges (a
# NIC or a clone checks it there, as PVE does).
OPERATOR = ["PVEVMAdmin", "/sdn/zones/localnetwork=PVESDNUser"]


def wait_task(api, node: str, upid: str, timeout_s: float = 30.0) -> dict:
    """A task's final status, polled with a deadline (a stuck task fails the test)."""

    def stopped() -> dict | None:
        status = api.nodes(node).tasks(upid).status.get()
        return status if status["status"] == "stopped" else None

    return eventually(stopped, f"task {upid} stopped", timeout=timeout_s, interval=0.02)


def read_budget(inv: Inventory) -> int:
    """A plan's calls on a converged cluster, whatever the number of guests: 5 per cluster,
    +1 per template VM named (are its disks shared?), +1 per node where containers are
    wanted (container templates are node-local)."""
    total = 0
    for name, cluster in inv.cluster_by_name.items():
        vms = [vm for vm in inv.vms() if vm.cluster == name]
        total += 5 + len({vm.spec.template for vm in vms if vm.spec.kind == "qemu"})
        total += len(cluster.nodes) if any(vm.spec.kind == "lxc" for vm in vms) else 0
    return total


def back_up_all_but_the_first_node(sim: Simulator, inv: Inventory) -> tuple[object, list[str]]:
    """pve-core applied, then a vzdump of every guest on every node but the first (whose
    guests stay without a backup). Returns the admin client and the nodes, sorted."""
    apply(inv, concurrency=8, plan=plan(inv, clusters=["pve-core"]), show_progress=False)
    admin = token_client(sim, "pve-core", "root@pam!admin", "Administrator")
    nodes = sorted({g["node"] for g in guests(admin)})
    for node in nodes[1:]:
        wait_task(admin, node, admin.nodes(node).vzdump.post(all=1, storage="backup-nfs"))
    return admin, nodes
