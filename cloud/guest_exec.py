"""Run a command in a VM through its QEMU guest agent (PVE's ``agent/exec``), no network needed.

``POST /nodes/{node}/qemu/{vmid}/agent/exec`` (the command as an array: program and
arguments) answers with the agent's ``pid``; ``GET …/agent/exec-status?pid=`` answers
``exited`` 0 until the command ends, then its ``exitcode`` (or ``signal``) and what it
printed. A VM just started has no agent answering yet (PVE: ``QEMU guest agent is not
running``, qemu-server's QemuServer/Agent.pm): the start is retried until ``agent_wait_s``;
``No QEMU guest agent configured`` (no ``agent`` in the VM's config) and ``VM … is not
running`` will not change, and end it at once. A command that has not ended after
``timeout_s`` is reported as such (the caller stops the VM, which ends it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hatang.cloud.errors import PveError

NOT_RUNNING = "QEMU guest agent is not running"


@dataclass(frozen=True)
class ExecOutcome:
    exitcode: int | None  # None: it did not run to its end (``note`` says why)
    out: str = ""
    err: str = ""
    note: str = ""


def _start(call: Callable[..., Any], path: str, command: list[str], agent_wait_s: float, poll_s: float) -> int | str:
    """The agent's pid, or why the command could not start."""
    deadline = time.monotonic() + agent_wait_s
    while True:
        try:
            return int(call("POST", f"{path}/agent/exec", command=command)["pid"])
        except PveError as exc:
            if NOT_RUNNING not in exc.reason or time.monotonic() >= deadline:
                waited = f" (waited {agent_wait_s:g} s for the agent)" if NOT_RUNNING in exc.reason else ""
                return f"not run: {exc.reason}{waited}"
        time.sleep(poll_s)


def run(call: Callable[..., Any], node: str, vmid: int, command: list[str], *, timeout_s: float, agent_wait_s: float,
        poll_s: float = 0.2) -> ExecOutcome:
    """Run ``command`` in VM ``vmid`` on ``node``; ``call(verb, path, **params)`` is the API."""
    path = f"nodes/{node}/qemu/{vmid}"
    pid = _start(call, path, command, agent_wait_s, poll_s)
    if isinstance(pid, str):
        return ExecOutcome(None, note=pid)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            status = call("GET", f"{path}/agent/exec-status", pid=pid)
        except PveError as exc:
            return ExecOutcome(None, note=f"lost: {exc.reason}")
        if str(status.get("exited")) in ("1", "True", "true"):
            out, err = str(status.get("out-data") or ""), str(status.get("err-data") or "")
            if "exitcode" in status:
                return ExecOutcome(int(status["exitcode"]), out, err)
            return ExecOutcome(None, out, err, note=f"killed by signal {status.get('signal')}")
        if time.monotonic() >= deadline:
            return ExecOutcome(None, note=f"still running after {timeout_s:g} s")
        time.sleep(poll_s)
