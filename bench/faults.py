"""Reliability: the fault corpus (hatang.lab.faultcorpus) on a small lab, as a table in
docs/reliability.md: each fault, how long the push took to report it against its bound,
what it reported, where each router ended and whether it answers again.

    python -m bench.faults
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

from bench.report import table, write_section

LAB_LOCK = Path("/run/hatang-lab.lock")
HATANG = [sys.executable, "-m", "hatang.cli"]


def lab(*args: str) -> None:
    proc = subprocess.run([*HATANG, "lab", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"hatang lab {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


def main() -> None:
    from hatang.lab import faultcorpus as corpus
    from hatang.lab.context import LabContext

    runs: list[corpus.FaultRun] = []
    with open(LAB_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the lab's lock, released when the file closes
        try:
            lab("down")
            lab("up", "--size", "small", "--configured")
            ctx = LabContext.load()
            for case in corpus.CASES:
                try:
                    runs.append(case(ctx))
                finally:
                    corpus.back_to_intent(ctx)
                print(runs[-1].row(), flush=True)
        finally:
            lab("down")
    stranded = sorted({d for run in runs for d in run.stranded})
    late = [run.fault for run in runs if run.report_s > run.bound_s]
    body = "\n".join([
        table(["fault", "time to report", "reported", "final configuration", "reachable afterwards"], [run.row() for run in runs]),
        "",
        f"Small lab (in-band districts and communes), revert timer {corpus.REVERT_IN} s, check timeout "
        f"{corpus.CHECK_TIMEOUT_S:g} s, step bound {corpus.STEP_TIMEOUT_S:g} s. The time to report runs from the "
        "push's start to its report, the background verification of a session lost after its commit "
        "included; the bound is `hatang.network.bounds.push_bound_s`. 'previous' and 'new' are read back "
        "from each router once the fault is repaired (its driver's own comparison against the text).",
        "",
        f"**{len(stranded)} router(s) stranded**{': ' + ', '.join(stranded) if stranded else ''}; "
        f"{len(runs) - len(late)}/{len(runs)} pushes ended within their bound"
        + (f" (late: {', '.join(late)})" if late else "") + ".",
    ])
    write_section("push-faults", "Push under faults: the fault corpus", "python -m bench.faults", body, reliability=True)


if __name__ == "__main__":
    main()
