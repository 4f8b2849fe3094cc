"""The QEMU guest agent of simulated VMs: ``agent/exec`` and ``agent/exec-status``, run for
real in a network-less copy of the matching lab host's files.

A simulated VM has no disk to run anything on. What gives one a file system is the lab:
its Linux hosts carry the inventory's server names, each an overlay of the shared Debian
root (lower) and an upper directory of its own (:mod:`hatang.lab.hosts`). So a backup
(``vzdump``) of a VM named like a running lab host captures that host's upper layer as
the archive's content (a tar in the simulator's directory), and a restore from the
archive gives the new VM that content. Then, as qemu-server's API2/Qemu/Agent.pm and
QemuServer/Agent.pm answer:

- ``POST agent/exec``: ``No QEMU guest agent configured`` without an ``agent`` key in
  the config, ``VM <id> is not running`` when stopped, ``QEMU guest agent is not
  running`` when the agent is disabled (``agent: 0``: no agent device) or the VM has no content (a guest whose agent never answers: production
  guests, which are not lab hosts, and copies of backups taken without one); else the
  command starts and ``{pid}`` is returned at once.
- ``GET agent/exec-status``: ``exited`` 0 while it runs; once ended ``exited`` 1 with
  ``exitcode`` (or ``signal``), ``out-data``/``err-data`` when not empty (PVE decodes
  qemu-ga's base64) and ``out-truncated``/``err-truncated`` past qemu-ga's 16 MiB; the
  ended command is then forgotten (qemu-ga's ``guest_exec_info_remove``): asking again,
  or for a pid never started, is qemu-ga's ``Invalid parameter 'pid'``.

The command runs as root in new mount, network, PID, IPC and UTS namespaces (no network
device but a downed loopback: no network at all), chrooted in an overlay of the lab's
Debian root, a scratch copy of the content, and a scratch upper layer, with a minimal
``/dev``, the capabilities reaching the machine's kernel dropped. Everything is made per
command and removed when it ends: the mounts live only in the command's own mount
namespace, the scratch directory is deleted, and the command is killed when the VM
stops, when the simulator dies (parent-death signal), or after :data:`EXEC_LIMIT_S` (the
simulator's bound; a real guest has none, the caller's timeout ends its waiting).
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hatang.lab import hosts
from hatang.lab.pvesim.routes import Call, route
from hatang.lab.pvesim.store import SimError

OUTPUT_MAX = 16 * 1024 * 1024  # qemu-ga's GUEST_EXEC_MAX_OUTPUT
EXEC_LIMIT_S = 600.0
CONTENT_DIR = "guest-content"
SCRATCH_DIR = "agent-exec"
TAR_XATTRS = ["--xattrs", "--xattrs-include=trusted.*", "--numeric-owner"]  # overlay whiteouts and opaque dirs
# Runs as PID 1 of the new PID namespace, in the new mount and network namespaces.
EXEC_SCRIPT = """
root="$1"; lower="$2"; content="$3"; upper="$4"; work="$5"; caps="$6"; shift 6
mount -t overlay overlay -o "lowerdir=$content:$lower,upperdir=$upper,workdir=$work" "$root"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=0755 tmpfs "$root/dev"
for d in null zero full random urandom; do : > "$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"; done
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
exec setpriv --bounding-set "$caps" chroot "$root" "$@"
"""
ENVIRONMENT = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


# --- the content: captured at backup, handed on at restore -------------------------------

def sim_directory(call: Call) -> Path:
    return call.sim.state.path.parent


def capture(call: Call, guest: dict[str, Any], vmid: int, stamp: str) -> dict[str, Any]:
    """``{"guest_fs": …}`` for an archive of ``guest`` when it is a VM named like a
    running lab host (its upper layer, tarred); ``{}`` otherwise."""
    from hatang.lab.hosts import running_names

    name = guest["config"].get("name")
    lab = sim_directory(call).parent
    if guest["type"] != "qemu" or name not in running_names(lab):
        return {}
    host = lab / "hosts" / name
    lower = (host / "lower").read_text().strip()
    target = sim_directory(call) / CONTENT_DIR / f"{vmid}-{stamp}.tar"
    target.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["tar", "-cf", str(target), *TAR_XATTRS, "-C", str(host / "upper"), "."], capture_output=True, text=True)
    if proc.returncode not in (0, 1):  # 1: a file changed while it was read (the host runs), as a live backup
        target.unlink(missing_ok=True)
        raise SimError(f"vzdump: archiving {name}: {proc.stderr.strip()[-300:]}")
    return {"guest_fs": {"tar": target.name, "lower": lower}}


def handed_on(archive: dict[str, Any]) -> dict[str, Any]:
    """What a guest restored from ``archive`` keeps of its content."""
    return {"guest_fs": archive["guest_fs"]} if archive.get("guest_fs") else {}


def discard(call: Call, archives: list[dict[str, Any]]) -> None:
    """Remove the content of archives that are removed (prune)."""
    for archive in archives:
        if archive.get("guest_fs"):
            (sim_directory(call) / CONTENT_DIR / archive["guest_fs"]["tar"]).unlink(missing_ok=True)


# --- running commands ----------------------------------------------------------------------

@dataclass
class Exec:
    vmid: int
    process: subprocess.Popen | None = None
    done: threading.Event = field(default_factory=threading.Event)
    killed: bool = False
    returncode: int | None = None
    out: bytes = b""
    err: bytes = b""


_pids = itertools.count(1000)
_lock = threading.Lock()
_running: dict[tuple[str, int, int], Exec] = {}  # (cluster, vmid, pid)


def _agent_available(call: Call, vmid: int) -> dict[str, Any]:
    """QemuServer::Agent::assert_agent_available, with the lab content as the agent."""
    guest = call.sim.state.guest(vmid, "qemu", call["node"])
    if "agent" not in guest["config"]:
        raise SimError("No QEMU guest agent configured")
    if guest["status"] != "running":
        raise SimError(f"VM {vmid} is not running")
    enabled = str(guest["config"]["agent"]).split(",")[0].removeprefix("enabled=") not in ("0", "false", "no", "off")
    if not enabled or not guest.get("guest_fs"):  # disabled: no agent device, its ping fails
        raise SimError("QEMU guest agent is not running")
    return guest


def _run(call_dir: Path, fs: dict[str, Any], command: list[str], stdin: bytes | None, job: Exec) -> None:
    """Prepare the scratch copy, run the command in its namespaces, clean everything up."""
    scratch = Path(tempfile.mkdtemp(prefix=f"{job.vmid}-", dir=call_dir / SCRATCH_DIR))
    try:
        parts = {p: scratch / p for p in ("root", "content", "upper", "work")}
        for path in parts.values():
            path.mkdir()
        unpack = subprocess.run(["tar", "-xf", str(call_dir / CONTENT_DIR / fs["tar"]), *TAR_XATTRS, "-C", str(parts["content"])],
                                capture_output=True)
        if unpack.returncode != 0:
            job.returncode, job.err = 127, b"guest file system unreadable: " + unpack.stderr[-300:]
            return
        caps = hosts.bounding_set()  # a command may reach the machine's kernel no more than a lab host
        argv = ["setpriv", "--pdeathsig", "KILL", "unshare", "--mount", "--net", "--pid", "--ipc", "--uts", "--fork",
                "--kill-child", "--propagation", "private", "/bin/sh", "-ec", EXEC_SCRIPT, "agent-exec",
                *(str(parts[p]) for p in ("root",)), fs["lower"], *(str(parts[p]) for p in ("content", "upper", "work")), caps, *command]
        with _lock:
            if job.killed:
                return
            job.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           env=ENVIRONMENT, start_new_session=True)
        try:
            job.out, job.err = job.process.communicate(stdin or b"", timeout=EXEC_LIMIT_S)
        except subprocess.TimeoutExpired:
            _kill(job.process)
            job.out, job.err = job.process.communicate()
        job.returncode = job.process.returncode
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        job.done.set()


def _kill(process: subprocess.Popen) -> None:
    """Its process group: unshare, and the namespace's PID 1 (whose end kills all in it)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@route("POST", "/nodes/{node}/qemu/{vmid}/agent/exec")
def agent_exec(call: Call) -> dict[str, int]:
    vmid = int(call["vmid"])
    guest = _agent_available(call, vmid)
    command = call["command"] if isinstance(call["command"], list) else [call["command"]]
    data = call.get("input-data")
    pid = next(_pids)
    job = Exec(vmid)
    with _lock:
        _running[(call.sim.state.name, vmid, pid)] = job
    (sim_directory(call) / SCRATCH_DIR).mkdir(exist_ok=True)
    threading.Thread(target=_run, args=(sim_directory(call), dict(guest["guest_fs"]), command,
                                        data.encode() if data is not None else None, job),
                     daemon=True, name=f"agent-exec-{vmid}-{pid}").start()
    return {"pid": pid}


@route("GET", "/nodes/{node}/qemu/{vmid}/agent/exec-status")
def agent_exec_status(call: Call) -> dict[str, Any]:
    vmid, pid = int(call["vmid"]), int(call["pid"])
    _agent_available(call, vmid)
    key = (call.sim.state.name, vmid, pid)
    with _lock:
        job = _running.get(key)
        if job is None:
            raise SimError(f"VM {vmid} qga command 'guest-exec-status' failed - Invalid parameter 'pid'")
        if not job.done.is_set():
            return {"exited": 0}
        del _running[key]
    status: dict[str, Any] = {"exited": 1}
    code = job.returncode if job.returncode is not None else -9
    status.update({"exitcode": code} if code >= 0 else {"signal": -code})
    for name, data in (("out", job.out), ("err", job.err)):
        if data:
            status[f"{name}-data"] = data[:OUTPUT_MAX].decode(errors="replace")
            if len(data) > OUTPUT_MAX:
                status[f"{name}-truncated"] = 1
    return status


def stop_guest(cluster: str, vmid: int) -> None:
    """The guest stops: its commands die with it (and are forgotten)."""
    with _lock:
        jobs = [(key, job) for key, job in _running.items() if key[:2] == (cluster, vmid)]
        for key, job in jobs:
            job.killed = True
            del _running[key]
            if job.process is not None and job.process.poll() is None:
                _kill(job.process)
