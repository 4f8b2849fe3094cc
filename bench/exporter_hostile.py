"""The exporter against hostile agents and hostile requests, beside snmp_exporter.

hatang's exporter (``hatang monitor serve``, its own process, ``--allow-target
127.0.0.1/32``) and Debian's snmp_exporter (same modules, same community, same timeout
and retries) scrape :mod:`hatang.lab.hostile_agent` agents on loopback, one case each:
what came back, whether that is the right outcome (a scrape that must fail fails with a
message; one that must succeed has every good row), and how long it took. Then hatang
alone gets hostile HTTP requests, and a live target is scraped behind more dead ones
than the concurrency limit. Any traceback in the exporter's log is counted.

    python -m bench.exporter_hostile
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.report import table, write_section
from hatang.lab.hostile_agent import ROWS, hostile_agent
from hatang.monitoring.snmp import SnmpAuth
from hatang.monitoring.snmp_exporter_yml import snmp_yml

HATANG = [sys.executable, "-m", "hatang.cli"]
TIMEOUT_S, RETRIES, CONCURRENCY = 1.0, 1, 2


@dataclass(frozen=True)
class Case:
    behaviour: str
    module: str
    ok: bool  # must the scrape succeed?
    expect: tuple[str, ...]  # one of these in the body: an error message, or a sample the right answer has
    delay_s: float = 0.0


CASES = (
    Case("good", "if_mib", True, (f'ifIndex="{ROWS}"',)),
    Case("non-increasing", "if_mib", False, ("OID not increasing",)),
    Case("wrong-type", "if_mib", True, ("hatang_snmp_scrape_value_errors 2",)),
    Case("wrong-oids", "system", False, ("other OIDs than asked",)),
    Case("endless", "if_mib", False, ("deadline", "never ends its table")),
    Case("slow", "system", True, ('sysName="hostile"',), 1.5 * TIMEOUT_S),
    Case("slowing", "if_mib", True, (f'ifIndex="{ROWS}"',), 3 * TIMEOUT_S),
    Case("silent", "system", False, ("no SNMP response",)),
)
REQUESTS = (  # (what, path or raw request, expected status)
    ("target outside the inventory", "/snmp?target=198.51.100.7&module=system", 403),
    ("target port 0", "/snmp?target=127.0.0.1:0&module=system", 400),
    ("target port 70000", "/snmp?target=127.0.0.1:70000&module=system", 400),
    ("target by DNS name", "/snmp?target=localhost&module=system", 400),
    ("module as a path", "/snmp?target=127.0.0.1&module=../../../../etc/passwd", 400),
    ("unknown auth", "/snmp?target=127.0.0.1&module=system&auth=v1", 400),
    ("40 query parameters", "/snmp?target=127.0.0.1&" + "module=system&" * 40, 400),
    ("request line of 20 kB", "/snmp?target=" + "1" * 20000, 414),
)


def get(url: str, timeout: float = 30) -> tuple[int, str, float]:
    """Status, body and seconds of a scrape as Prometheus sends it (10 s scrape timeout);
    status 0 when nothing came back within ``timeout``."""
    began = time.monotonic()
    request = urllib.request.Request(url, headers={"X-Prometheus-Scrape-Timeout-Seconds": "10"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(), time.monotonic() - began
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), time.monotonic() - began
    except OSError as exc:
        return 0, f"no answer: {exc}", time.monotonic() - began


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(argv: list[str], url: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(argv, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{argv[0]} did not start: {log.read_text()[-500:]}") from None
            time.sleep(0.2)


def outcome(case: Case, status: int, body: str) -> tuple[str, bool]:
    """The status and first line, and whether it is the right outcome."""
    right = (status == 200) == case.ok and any(expected in body for expected in case.expect)
    first = body.splitlines()[0][:70] if body and status != 200 else f"{body.count(chr(10))} lines"
    return f"{status}: {first}", right


def dead_before_live(base: str) -> tuple[float, int]:
    """Six dead scrapes, then a live one, with 2 places: the live one's time and status."""
    with hostile_agent("silent") as dead, hostile_agent("good") as live, ThreadPoolExecutor(8) as pool:
        deads = [pool.submit(get, f"{base}/snmp?target={dead.address}&module=system") for _ in range(6)]
        while dead.requests < CONCURRENCY:
            time.sleep(0.01)
        status, _, took = pool.submit(get, f"{base}/snmp?target={live.address}&module=system").result()
        for future in deads:
            future.result()
    return took, status


def main() -> int:
    peer = shutil.which("prometheus-snmp-exporter")
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HATANG_SECRET_")}
        env.update(HATANG_STATE_DIR=str(work / "state"), HATANG_SECRET_SNMP_COMMUNITY_COMMUNITY="hostile")
        ours_port = free_port()
        ours = f"http://127.0.0.1:{ours_port}"
        hatang = start([*HATANG, "monitor", "serve", "--listen", f"127.0.0.1:{ours_port}", "--env", "lab", "--snmp-version", "v2c",
                        "--timeout", str(TIMEOUT_S), "--retries", str(RETRIES), "--concurrency", str(CONCURRENCY),
                        "--allow-target", "127.0.0.1/32"], f"{ours}/metrics", work / "hatang.log", env)
        theirs, peer_proc = None, None
        if peer:
            (work / "snmp.yml").write_text(snmp_yml(SnmpAuth("v2c", community="hostile"), ["system", "if_mib"], timeout=int(TIMEOUT_S), retries=RETRIES))
            peer_port = free_port()
            theirs = f"http://127.0.0.1:{peer_port}"
            peer_proc = start([peer, f"--config.file={work / 'snmp.yml'}", f"--web.listen-address=127.0.0.1:{peer_port}"], f"{theirs}/metrics", work / "peer.log")
        rows, wrong = [], 0
        try:
            for case in CASES:
                with hostile_agent(case.behaviour, case.delay_s) as agent:
                    query = f"/snmp?target={agent.address}&module={case.module}"
                    status, body, took = get(ours + query)
                    said, right = outcome(case, status, body)
                    wrong += not right
                    peer_said = "not run"
                    if theirs:
                        peer_status, peer_body, peer_took = get(theirs + query)
                        peer_said = f"{peer_status}: " + (peer_body.splitlines()[0][:60] if peer_status != 200 and peer_body else f"{peer_body.count(chr(10))} lines") + f" ({peer_took:.1f} s)"
                    rows.append([case.behaviour, case.module, "succeed" if case.ok else "fail", said, f"{took:.1f}", "yes" if right else "**NO**", peer_said])
            requests = []
            for what, path, expected in REQUESTS:
                status = get(ours + path)[0]
                wrong += status != expected
                requests.append([what, expected, status, "yes" if status == expected else "**NO**"])
            live_s, live_status = dead_before_live(ours)
            wrong += live_status != 200 or live_s > TIMEOUT_S + 0.5
        finally:
            for proc in (hatang, peer_proc):
                if proc is not None:
                    proc.terminate()
                    proc.wait(15)
        tracebacks = (work / "hatang.log").read_text().count("Traceback")
    cases = len(CASES) + len(REQUESTS) + 1
    body = (
        f"hatang's exporter (timeout {TIMEOUT_S:g} s, {RETRIES} retry, concurrency {CONCURRENCY}, deadline 10 s) and "
        f"snmp_exporter (same modules, timeout and retries) against misbehaving agents of `hatang.lab.hostile_agent` "
        f"({ROWS} interfaces each).\n\n"
        + table(["agent", "module", "should", "hatang answered", "hatang s", "right", "snmp_exporter answered"], rows)
        + "\n\nHostile requests to hatang's exporter:\n\n"
        + table(["request", "expected", "got", "right"], requests)
        + f"\n\nA live target scraped behind 6 dead ones with {CONCURRENCY} places: answered {live_status} in {live_s:.2f} s "
        f"(bound: one timeout, {TIMEOUT_S:g} s; a first-come queue of whole scrapes waits for {6 // CONCURRENCY} rounds of dead scrapes).\n\n"
        + table(["cases tried", "right outcomes", "wrong acceptances or refusals", "tracebacks in the exporter's log"],
                [[cases, cases - wrong, wrong, tracebacks]])
    )
    write_section("exporter-hostile", "Exporter against hostile agents and requests (issue 18)", "python -m bench.exporter_hostile", body, reliability=True)
    return 0 if wrong == 0 and tracebacks == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
