"""Start and stop a simulator process outside the lab (tests, benchmarks), by its pid."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from hatang.errors import HatangError
from hatang.lab.pvesim.daemon import endpoints_file, secrets_file
from hatang.lab.pvesim.faults import Faults


def command(directory: Path, inventory: Path | None, env: str = "lab", task_seconds: float = 0.2,
            port_base: int = 0, latency_ms: float = 0.0, fence_seconds: float = 10.0) -> list[str]:
    argv = [sys.executable, "-m", "hatang.lab.pvesim", "--dir", str(directory), "serve", "--env", env,
            "--task-seconds", str(task_seconds), "--port-base", str(port_base), "--latency-ms", str(latency_ms),
            "--fence-seconds", str(fence_seconds)]
    return argv + (["--inventory", str(inventory)] if inventory else [])


def wait_ready(directory: Path, pid: int, alive: Any, timeout_s: float = 20.0) -> dict[str, Any]:
    """The endpoints the simulator ``pid`` wrote, once it has written them."""
    deadline = time.monotonic() + timeout_s
    path = endpoints_file(directory)
    while time.monotonic() < deadline:
        if path.exists():
            data = json.loads(path.read_text())
            if all(e.get("pid") == pid for e in data.values()):
                return data
        if not alive():
            raise HatangError(f"the Proxmox simulator exited at start; see {directory / 'pvesim.log'}")
        time.sleep(0.05)
    raise HatangError(f"the Proxmox simulator did not come up in {timeout_s:.0f} s; see {directory / 'pvesim.log'}")


@dataclass
class Simulator:
    """``with Simulator(dir, inventory) as sim:`` a running simulator, stopped on exit."""

    directory: Path
    inventory: Path | None = None
    task_seconds: float = 0.2
    latency_ms: float = 0.0
    fence_seconds: float = 10.0
    process: subprocess.Popen | None = None
    endpoints: dict[str, Any] = field(default_factory=dict)

    def __enter__(self) -> "Simulator":
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "stderr.log", "ab")
        self.process = subprocess.Popen(command(self.directory, self.inventory, task_seconds=self.task_seconds,
                                                latency_ms=self.latency_ms, fence_seconds=self.fence_seconds),
                                        stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        try:
            self.endpoints = wait_ready(self.directory, self.process.pid, lambda: self.process.poll() is None)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def faults(self) -> Faults:
        return Faults(self.directory)

    @property
    def endpoints_path(self) -> Path:
        return endpoints_file(self.directory)

    def secrets(self) -> dict[str, dict[str, str]]:
        return yaml.safe_load(secrets_file(self.directory).read_text())

    def environment(self) -> dict[str, str]:
        """The variables that point hatang at this simulator with its token."""
        token = self.secrets()["pve-api"]
        return {"HATANG_PVE_ENDPOINTS": str(self.endpoints_path),
                "HATANG_SECRET_PVE_API_TOKEN_ID": token["token_id"], "HATANG_SECRET_PVE_API_SECRET": token["secret"]}
