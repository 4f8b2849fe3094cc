"""One full SNMP poll cycle of the lab, by hatang's exporter and by Debian's snmp_exporter.

Both exporters run as their own processes on loopback with the same agents (every lab
router's snmpd, SNMPv3 authPriv SHA/AES), the same OIDs (snmp_exporter's snmp.yml is
generated from hatang's modules), the same timeout, retries and max-repetitions. One
driver plays Prometheus: it scrapes ``/snmp?target=…&module=…`` for every router and
both modules (system, if_mib) with the same number of scrapes in flight for both. A
few warm-up cycles come first (Prometheus' steady state: SNMPv3 engines discovered; with
several hatang workers each has its own engine and a scrape reaches a random one, so
after W warm-up cycles a worker has still to discover a router with probability
(1/2)^(2W) with two workers: one warm-up left a quarter of them to the measured cycles),
then the median of three cycles is reported: wall time, the exporter's CPU seconds (from
/proc), and its peak memory.

    python -m bench.snmp [--size province|district|small] [--use-running-lab]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.report import table, write_section

LAB_LOCK = Path("/run/hatang-lab.lock")
HATANG = [sys.executable, "-m", "hatang.cli"]
MODULES = ("system", "if_mib")
CYCLES = 3
WARM_UP_CYCLES = 4
TIMEOUT_S, RETRIES, MAX_REPETITIONS = 2.0, 1, 25
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Cycle:
    wall_s: float
    cpu_s: float
    failed: int


@dataclass
class Measured:
    name: str
    cycles: list[Cycle]
    peak_rss_mib: float

    @property
    def wall_s(self) -> float:
        return statistics.median(c.wall_s for c in self.cycles)

    @property
    def cpu_s(self) -> float:
        return statistics.median(c.cpu_s for c in self.cycles)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def family(pid: int) -> list[int]:
    """The process and its children (an exporter's worker processes)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(int(c) for c in children)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process and its workers."""
    total = 0
    for member in family(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) summed over the process and its workers."""
    total = 0
    for member in family(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total / 1024


def scrape(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def cycle(base: str, targets: list[str], pid: int, concurrency: int) -> Cycle:
    urls = [f"{base}/snmp?target={t}&module={m}" for t in targets for m in MODULES]
    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        answers = list(pool.map(scrape, urls))
    return Cycle(time.perf_counter() - started, cpu_seconds(pid) - cpu_before, answers.count(False))


@contextmanager
def running(argv: list[str], ready_url: str, log: Path) -> Iterator[int]:
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not scrape(ready_url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{argv[0]} did not start: {log.read_text()[-800:]}")
            time.sleep(0.2)
        yield proc.pid
    finally:
        proc.terminate()
        proc.wait(15)


def measure(name: str, argv: list[str], port: int, targets: list[str], concurrency: int, log: Path) -> Measured:
    base = f"http://127.0.0.1:{port}"
    with running(argv, f"{base}/metrics", log) as pid:
        for _ in range(WARM_UP_CYCLES):
            cycle(base, targets, pid, concurrency)
        cycles = [cycle(base, targets, pid, concurrency) for _ in range(CYCLES)]
        return Measured(name, cycles, peak_rss_mib(pid))


@contextmanager
def lab(size: str, use_running: bool) -> Iterator[None]:
    """The lab of ``size`` under the machine's lab lock (or the caller's running lab)."""
    if use_running:
        yield
        return
    with LAB_LOCK.open("a") as lock:
        print(f"waiting for the lab lock {LAB_LOCK}…", flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run([*HATANG, "lab", "down"], capture_output=True)
        try:
            print(f"hatang lab up --size {size}…", flush=True)
            subprocess.run([*HATANG, "lab", "up", "--size", size], check=True)
            quiet_lab_monitoring()
            yield
        finally:
            subprocess.run([*HATANG, "lab", "down"], capture_output=True)


def quiet_lab_monitoring() -> None:
    """Stop the lab's own exporter and Prometheus: they would scrape the same agents
    during the measurement (``lab down`` is fine with them already stopped)."""
    from hatang.lab import monitoring
    from hatang.lab.context import LabContext

    monitoring.down(LabContext.load())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="province", choices=("small", "district", "province"))
    parser.add_argument("--use-running-lab", action="store_true", help="measure the lab already up (you hold its lock)")
    parser.add_argument("--concurrency", type=int, default=32, help="scrapes in flight, for both exporters")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="hatang exporter processes (snmp_exporter uses every core by itself)")
    args = parser.parse_args()
    peer = shutil.which("prometheus-snmp-exporter")
    if peer is None:
        raise SystemExit("prometheus-snmp-exporter is not installed (Debian package prometheus-snmp-exporter)")

    from hatang.inventory import load
    from hatang.monitoring.snmp_exporter_yml import write_snmp_yml

    with lab(args.size, args.use_running_lab), tempfile.TemporaryDirectory(prefix="bench-snmp-") as tmp:
        work = Path(tmp)
        inv = load(None, "lab")
        targets = [str(inv.mgmt(d.name).ip) for d in inv.lab_devices(args.size)]
        config = write_snmp_yml(work / "snmp.yml", "lab", list(MODULES), timeout=TIMEOUT_S, retries=RETRIES, max_repetitions=MAX_REPETITIONS)
        hatang_port, peer_port = free_port(), free_port()
        hatang = measure(
            f"hatang monitor serve --workers {args.workers}",
            [*HATANG, "monitor", "serve", "--listen", f"127.0.0.1:{hatang_port}", "--env", "lab", "--timeout", str(TIMEOUT_S),
             "--retries", str(RETRIES), "--concurrency", str(args.concurrency * 2), "--workers", str(args.workers)],
            hatang_port, targets, args.concurrency, work / "hatang.log",
        )
        theirs = measure(
            "prometheus-snmp-exporter 0.21 (Debian)",
            [peer, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{peer_port}"],
            peer_port, targets, args.concurrency, work / "snmp_exporter.log",
        )
    rows = [
        [m.name, f"{m.wall_s:.2f}", f"{m.cpu_s:.2f}", f"{m.peak_rss_mib:.0f}", sum(c.failed for c in m.cycles), " / ".join(f"{c.wall_s:.2f}" for c in m.cycles)]
        for m in (hatang, theirs)
    ]
    ratio_wall, ratio_cpu = hatang.wall_s / theirs.wall_s, hatang.cpu_s / max(theirs.cpu_s, 1e-9)
    verdict = "met" if ratio_wall <= 1.5 and hatang.peak_rss_mib < 200 else "NOT met"
    body = (
        f"One poll cycle of the {args.size} lab: {len(targets)} routers × modules {', '.join(MODULES)} = "
        f"{len(targets) * len(MODULES)} scrapes, {args.concurrency} in flight, SNMPv3 authPriv (SHA/AES), "
        f"timeout {TIMEOUT_S:g} s, {RETRIES} retry, max-repetitions {MAX_REPETITIONS}; median of {CYCLES} cycles after {WARM_UP_CYCLES} warm-up cycles.\n\n"
        + table(["exporter", "wall (s)", "exporter CPU (s)", "peak RSS (MiB)", "failed scrapes", "cycles (s)"], rows)
        + f"\n\nhatang / snmp_exporter: wall **{ratio_wall:.2f}×**, CPU **{ratio_cpu:.2f}×**. "
        f"Goal (wall ≤ 1.5×, exporter memory < 200 MiB): **{verdict}**."
    )
    write_section("snmp", "SNMP poll cycle: hatang vs snmp_exporter", f"python -m bench.snmp --size {args.size}", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
