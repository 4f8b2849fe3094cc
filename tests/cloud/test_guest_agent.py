"""The simulator's QEMU guest agent (issue 27, restore-test's role check): ``agent/exec``
and ``agent/exec-status`` as the schema and qemu-server define them, run for real in a
network-less copy of a lab host's files that a backup captured and a restore handed on.

The lab host here is its directory only (``hosts/<name>/``: upper layer, ``lower``,
``known_hosts``, as :mod:`hatang.lab.hosts` writes them beside the simulator's own), and
its lower layer a small root holding this machine's ``sh`` and a few tools with their
libraries; tests/cloud/test_restore_test_lab.py runs it on the lab's Debian root."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from proxmoxer import ResourceException

from hatang.cloud import guest_exec
from hatang.cloud.errors import PveError

from .conftest import token_client, wait_task
from waiting import eventually

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="commands run in new namespaces (root)")
NODE = "pve-core-01"
NAME = "qlvb-app-01"  # a server name of the inventory: the lab host the backup copies


TOOLS = ("sh", "cat", "true", "test", "sleep", "tail", "cut")


def small_root(root: Path) -> Path:
    """A root file system of a few of this machine's programs and the libraries they load."""
    for part in ("bin", "etc", "proc", "dev", "run", "tmp"):
        (root / part).mkdir(parents=True)
    for tool in TOOLS:
        program = Path(shutil.which(tool) or pytest.fail(f"no {tool} on this machine")).resolve()
        shutil.copy2(program, root / "bin" / tool)
        loads = subprocess.run(["ldd", str(program)], capture_output=True, text=True).stdout
        for library in {word for word in loads.split() if word.startswith("/")}:
            (root / library.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(library).resolve(), root / library.lstrip("/"))
    return root


def make_lab_host(lab: Path, name: str, files: dict[str, tuple[str, int]]) -> Path:
    """A running lab host as the simulator finds it beside itself: ``files`` in its upper layer."""
    host = lab / "hosts" / name
    for path, (text, mode) in files.items():
        (host / "upper" / path).parent.mkdir(parents=True, exist_ok=True)
        (host / "upper" / path).write_text(text)
        (host / "upper" / path).chmod(mode)
    lower = lab / "lower"
    (host / "lower").write_text(f"{lower if lower.exists() else small_root(lower)}\n")
    (host / "known_hosts").write_text("")
    return host


@pytest.fixture
def lab_host(sim) -> Path:
    return make_lab_host(sim.directory.parent, NAME, {"etc/hatang-marker": ("restored content\n", 0o644)})


def exec_status(api, vmid: int, pid: int, timeout_s: float = 20.0) -> dict:
    def ended() -> dict | None:
        status = api.nodes(NODE).qemu(vmid).agent("exec-status").get(pid=pid)
        return status if status["exited"] else None

    return eventually(ended, f"command {pid} in VM {vmid} ended", timeout=timeout_s, interval=0.05)


def run(api, vmid: int, *command: str, timeout_s: float = 20.0) -> dict:
    return exec_status(api, vmid, api.nodes(NODE).qemu(vmid).agent.exec.post(command=list(command))["pid"], timeout_s)


def failure(call) -> str:
    with pytest.raises(ResourceException) as caught:
        call()
    return f"{caught.value.status_code} {caught.value.content}"


@pytest.fixture
def copy(sim, lab_host):
    """A VM named like the lab host, backed up, restored to 400 and started; its API client."""
    admin = token_client(sim, "pve-core", "root@pam!admin", "Administrator")
    wait_task(admin, NODE, admin.nodes(NODE).qemu(9000).clone.post(newid=300, name=NAME, full=1))
    wait_task(admin, NODE, admin.nodes(NODE).qemu(300).status.start.post())
    wait_task(admin, NODE, admin.nodes(NODE).vzdump.post(vmid="300", storage="backup-nfs"))
    archive = admin.nodes(NODE).storage("backup-nfs").content.get(content="backup")[0]
    assert "guest_fs" not in archive  # the listing is PVE's
    wait_task(admin, NODE, admin.nodes(NODE).qemu.post(vmid=400, archive=archive["volid"], unique=1))
    (lab_host / "upper/etc/hatang-marker").write_text("changed after the backup\n")  # the copy has the backup's
    wait_task(admin, NODE, admin.nodes(NODE).qemu(400).status.start.post())
    return admin


def test_a_command_runs_in_the_copy_with_its_exit_code_and_output_once(copy):
    pid = copy.nodes(NODE).qemu(400).agent.exec.post(command=["sh", "-c", "cat /etc/hatang-marker; echo oops >&2; exit 3"])["pid"]
    assert exec_status(copy, 400, pid) == {"exited": 1, "exitcode": 3, "out-data": "restored content\n", "err-data": "oops\n"}
    assert failure(lambda: copy.nodes(NODE).qemu(400).agent("exec-status").get(pid=pid)) == \
        "500 VM 400 qga command 'guest-exec-status' failed - Invalid parameter 'pid'"  # qemu-ga forgets an ended command
    assert run(copy, 400, "true") == {"exited": 1, "exitcode": 0}  # no output: no out-data


def test_the_copy_has_no_network_and_writes_go_nowhere(copy, lab_host):
    links = run(copy, 400, "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1")
    assert links["out-data"].split() == ["lo"]
    assert run(copy, 400, "sh", "-c", "echo x > /etc/written && test -f /etc/written")["exitcode"] == 0
    assert run(copy, 400, "test", "-e", "/etc/written")["exitcode"] == 1  # a scratch copy per command
    assert not (lab_host / "upper/etc/written").exists()
    assert not [m for m in Path("/proc/mounts").read_text().splitlines() if str(lab_host.parent.parent) in m]
    assert list((lab_host.parent.parent / "pvesim/agent-exec").iterdir()) == []


def test_a_stop_ends_a_running_command_and_the_agent_answers_only_a_running_vm(copy):
    pid = copy.nodes(NODE).qemu(400).agent.exec.post(command=["sleep", "60"])["pid"]
    time.sleep(0.5)
    assert copy.nodes(NODE).qemu(400).agent("exec-status").get(pid=pid) == {"exited": 0}
    wait_task(copy, NODE, copy.nodes(NODE).qemu(400).status.stop.post())
    assert failure(lambda: copy.nodes(NODE).qemu(400).agent.exec.post(command=["true"])) == "500 VM 400 is not running"
    eventually(lambda: not any(b"sleep\x0060" in p.read_bytes() for p in Path("/proc").glob("[0-9]*/cmdline") if p.exists()),
               "the command killed with its VM", timeout=10, interval=0.1)


def test_guests_without_content_or_agent_answer_as_pve_does(copy):
    # the production guest: a VM of the simulator, not a copy of a lab host
    assert failure(lambda: copy.nodes(NODE).qemu(300).agent.exec.post(command=["true"])) == "500 QEMU guest agent is not running"
    for config, said in (({"agent": "0"}, "QEMU guest agent is not running"), ({"delete": "agent"}, "No QEMU guest agent configured")):
        wait_task(copy, NODE, copy.nodes(NODE).qemu(400).status.stop.post())
        copy.nodes(NODE).qemu(400).config.put(**config)
        wait_task(copy, NODE, copy.nodes(NODE).qemu(400).status.start.post())
        assert failure(lambda: copy.nodes(NODE).qemu(400).agent.exec.post(command=["true"])) == f"500 {said}"
    assert failure(lambda: copy.nodes(NODE).qemu(400).agent.exec.post()).startswith("400 Parameter verification failed.")


def test_hatangs_client_waits_for_the_agent_and_times_a_command_out(copy, sim):
    from hatang.cloud.client import Pve
    from hatang.inventory import load

    pve = Pve.open(load(None, "lab"), "pve-core")
    done = guest_exec.run(pve.request, NODE, 400, ["sh", "-c", "echo ok; exit 4"], timeout_s=20, agent_wait_s=0)
    assert (done.exitcode, done.out, done.note) == (4, "ok\n", "")
    slow = guest_exec.run(pve.request, NODE, 400, ["sleep", "30"], timeout_s=0.5, agent_wait_s=0)
    assert slow.exitcode is None and slow.note == "still running after 0.5 s"
    none = guest_exec.run(pve.request, NODE, 300, ["true"], timeout_s=5, agent_wait_s=0.6)
    assert none.exitcode is None and none.note == "not run: QEMU guest agent is not running (waited 0.6 s for the agent)"
    with pytest.raises(PveError):
        pve.request("GET", f"nodes/{NODE}/qemu/400/agent/exec-status", pid=999999)
