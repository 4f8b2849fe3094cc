"""Reliability: the baseline's drift corpus on lab hosts (issue 23).

Every break of :data:`hatang.deploy.baseline.drift.BREAKS`, one at a time, after
``hatang deploy all``: did the hatang audit fail exactly the break's controls on exactly
its host, naming the value found (detected); did the Ansible audit report the same
messages; did ``hatang deploy all`` on the host repair it, the audit passing again
(repaired). Figures go to docs/reliability.md, section ``baseline-drift``.

Run as root: ``.venv/bin/python -m bench.baseline_drift``. Holds the machine's lab lock,
brings up only the ``hosts`` component, and leaves no lab behind.
"""

from __future__ import annotations

import sys
import time

from bench.lab_hosts import lab_hosts
from bench.report import table, write_section


def main() -> int:
    from hatang.deploy import runner
    from hatang.deploy.baseline import drift
    from hatang.inventory import load

    rows, counts = [], {"tried": 0, "detected": 0, "agreed": 0, "repaired": 0}
    with lab_hosts(drift.HOSTS):
        inv = load(None, "lab")
        converged = [r for run in runner.run_all(inv, limit=list(drift.HOSTS), show_progress=False) for r in run.results]
        if not all(r.ok for r in converged):
            raise SystemExit(f"deploy all failed before the corpus: {[r.error for r in converged if not r.ok]}")
        for brk in drift.BREAKS:
            started = time.monotonic()
            t = drift.trial(inv, brk)
            ansible = t.ansible.by_host[brk.host].error if t.ansible else ""
            agreed = all(line in ansible for line in t.before.by_host[brk.host].error.splitlines())
            counts["tried"] += 1
            counts["detected"] += t.detected
            counts["agreed"] += agreed
            counts["repaired"] += t.repaired
            message = next((c["message"] for c in t.before.by_host[brk.host].data["controls"] if not c["passed"]), "")
            rows.append([brk.name, brk.host, ", ".join(brk.controls), "yes" if t.detected else "NO", "yes" if agreed else "NO",
                         "yes" if t.repaired else "NO", f"{time.monotonic() - started:.0f} s", message.replace("|", "/")[:90]])
    summary = (f"Breaks tried: {counts['tried']}; detected (exactly the right controls, on the right host, value found named): "
               f"{counts['detected']}; same messages from the Ansible audit: {counts['agreed']}; repaired by `hatang deploy all`: "
               f"{counts['repaired']}.\n\n")
    body = summary + table(["break", "host", "controls", "detected", "Ansible agrees", "repaired", "time (break → audit passes)", "found (first failing control)"], rows)
    write_section("baseline-drift", "Security baseline: drift corpus (issue 23)", "sudo .venv/bin/python -m bench.baseline_drift", body, reliability=True)
    return 0 if counts["detected"] == counts["repaired"] == counts["agreed"] == counts["tried"] else 1


if __name__ == "__main__":
    sys.exit(main())
