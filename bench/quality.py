"""Tests that catch bugs: mutation testing of the pure modules, and the hand-made bugs of
issue 25 replayed; writes docs/quality.md.

``python -m bench.quality`` runs mutmut 2 (``pip install -e '.[quality]'``) on each
module in turn, each mutant against only the tests that exercise that module (one
module at a time: the runs are CPU-heavy), then replays the six hand-made bugs the
suite once missed. ``--module PATH`` re-runs one module; ``--report`` only rewrites the
document from mutmut's cache (``.mutmut-cache``) and replays the hand-made bugs. Every surviving mutant is listed,
with the reason it cannot be killed where :data:`EXPLAINED` gives one.
"""

from __future__ import annotations

import argparse
import shlex
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.report import machine, table
from hatang.paths import REPO_ROOT

DOC = REPO_ROOT / "docs" / "quality.md"
# bench.mutmut_pytest: a mutant that breaks an import (pytest exits 2 or 4) is killed, not a survivor
PYTEST = [sys.executable, "-m", "bench.mutmut_pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not lab"]
GOAL = 85.0
MODULE_DEADLINE_S = 1200  # a module that takes longer is resumed on the next run

# module → the tests that exercise it
MODULES: dict[str, tuple[str, ...]] = {
    "network/lint.py": ("tests/network/test_lint_rules.py", "tests/network/test_lint_vrp.py"),
    "network/diff.py": ("tests/network/test_lint_rules.py", "tests/network/test_state.py::test_docs_platforms_md_is_current"),  # NEEDS: docs/platforms.md
    "cloud/vcpu.py": ("tests/capacity/test_vcpu_rule.py",),
    "cloud/placement.py": ("tests/cloud/test_placement_rules.py", "tests/cloud/test_placement.py", "tests/capacity/test_vcpu_rule.py"),
    "cloud/capacity/forecast.py": ("tests/capacity/test_forecast_units.py", "tests/capacity/test_arithmetic.py"),
    "cloud/capacity/outlook.py": ("tests/capacity/test_rules_units.py", "tests/capacity/test_failure_model.py"),
    "cloud/capacity/demand.py": ("tests/capacity/test_demand_units.py", "tests/capacity/test_arithmetic.py", "tests/capacity/test_failure_model.py"),
    "cloud/capacity/rules.py": ("tests/capacity/test_rules_units.py", "tests/capacity/test_failure_model.py", "tests/capacity/test_arithmetic.py"),
    "cloud/capacity/storage.py": ("tests/capacity/test_pool_units.py", "tests/capacity/test_failure_model.py", "tests/capacity/test_arithmetic.py"),
    "inventory/checks.py": ("tests/inventory/test_checks.py", "tests/inventory/test_check_refusals.py"),
    "inventory/addressing.py": ("tests/inventory/test_addressing_units.py", "tests/inventory/test_address_plan_refusals.py", "tests/inventory/test_addressing.py"),
    "monitoring/rawpdu.py": ("tests/monitoring/test_rawpdu.py", "tests/monitoring/test_ber_limits.py", "tests/monitoring/test_ber.py"),
    # the decoder's own tests and the captured answers; the hypothesis round trips and the live
    # snmpd agent are too slow per mutant (rawpdu's run covers the live path)
    "monitoring/ber.py": ("tests/monitoring/test_ber_units.py", "tests/monitoring/test_ber_limits.py", "tests/monitoring/test_ber.py::test_captured_snmpd_answers",
                          "tests/monitoring/test_ber.py::test_malformed_answers_are_refused_like_pysnmp"),
    # the arithmetic's tests and the refusals, then test_sla_api.py (one small real Prometheus, started only
    # for a mutant the others miss); test_sla.py's whole-report cases are too slow per mutant
    "monitoring/sla.py": ("tests/monitoring/test_durations.py", "tests/monitoring/test_sla_figures.py",
                          "tests/monitoring/test_sla.py::test_unreachable_prometheus_is_a_clear_error", "tests/monitoring/test_sla.py::test_reversed_period_is_refused",
                          "tests/monitoring/test_sla_api.py"),
}

# (module, the mutated line as mutmut writes it) → why no test can tell it from the original
EXPLAINED: dict[tuple[str, str], str] = {
    ("network/lint.py", 'problems = [f"{name} configured {count} times" for name, count in interfaces.items() if count > 1]'):
        "equivalent: `+=` onto the empty list just made is `=`",
    ("cloud/placement.py", "and self.cores + core_share(vm) < self.capacity.cores + 1e-9"):
        "equivalent within the rounding tolerance: `<` and `<=` differ only when the sum is exactly cores + 1e-9",
    ("cloud/placement.py", "and self.cores + core_share(vm) <= self.capacity.cores + 2e-09"):
        "the rounding tolerance itself: core shares are multiples of 1/8, no sum falls between 1e-9 and 2e-9 over",
    ("cloud/capacity/outlook.py", "if level <= 1 and committed >= usable + EPSILON:"):
        "equivalent within the rounding tolerance: `>` and `>=` differ only at exactly usable + EPSILON",
    ("cloud/capacity/forecast.py", "sxy = sum((x + x_mean) * (y - y_mean) for x, y in enumerate(values))"):
        "equivalent: Σ(y − ȳ) = 0, so Σ(x + x̄)(y − ȳ) = Σ(x − x̄)(y − ȳ)",
    ("cloud/capacity/forecast.py", "sxy = sum((x - x_mean) * (y + y_mean) for x, y in enumerate(values))"):
        "equivalent: Σ(x − x̄) = 0, so Σ(x − x̄)(y + ȳ) = Σ(x − x̄)(y − ȳ)",
    ("monitoring/ber.py", "Oid = None"): "equivalent: a type alias read only in annotations, which are never evaluated (`from __future__ import annotations`)",
    ("monitoring/ber.py", "Value = None"): "equivalent: a type alias read only in annotations, which are never evaluated (`from __future__ import annotations`)",
    ("monitoring/ber.py", "VarBind = None"): "equivalent: a type alias read only in annotations, which are never evaluated (`from __future__ import annotations`)",
    ("monitoring/ber.py", "OID_MEMORY = 65537  # OIDs remembered by their encoding (a few MiB at most)"):
        "the bound's size: any bound near it keeps the memory to a few MiB (the test checks the bound holds, whatever it is)",
    ("inventory/checks.py", 'if need.get("ram_mib", 1) > ram:'):
        "equivalent: a cluster has at least one node and a node more than 0 GiB (the model's bounds), so its RAM is never under 1 MiB",
    ("inventory/addressing.py", "path: Path & None = None"): "equivalent: annotations are never evaluated (`from __future__ import annotations`)",
    ("inventory/addressing.py", "gateway: IPv4Address & None = None"): "equivalent: annotations are never evaluated (`from __future__ import annotations`)",
    ("inventory/addressing.py", "open_owner: tuple[str, IPv4Network] & None = None"): "equivalent: a local variable's annotation is never evaluated",
    ("inventory/addressing.py", 'open_owner: tuple[str, IPv4Network] | None = ""'): "equivalent: it is only read as a truth value, and '' and None are both false",
    ("monitoring/sla.py", "raise HatangError(f\"Prometheus refused {path}: {body.get('errorType', 'XXXX')} {body.get('error', '')}\".strip())"):
        "Prometheus' API sends `errorType` and `error` with every status but success: the default is never read",
    ("monitoring/sla.py", "raise HatangError(f\"Prometheus refused {path}: {body.get('errorType', '')} {body.get('error', 'XXXX')}\".strip())"):
        "Prometheus' API sends `errorType` and `error` with every status but success: the default is never read",
    ("monitoring/sla.py", 'answers = {name: {r["metric"].get("device", "XXXX"): float(r["value"][1]) for r in api.query(q, end)} for name, q in queries.items()}'):
        "a series without a device label matches no router under either key",
    ("monitoring/sla.py", 'key=device, name=device, up_samples=answers["up"].get(device, 1.0), samples=samples,'):
        "Prometheus answers sum_over_time for every series count_over_time counts: the default is never read",
    ("monitoring/sla.py", 'incidents=int(answers["incidents"].get(device, 1)), step_s=step_s,'):
        "Prometheus answers resets() for every series count_over_time counts: the default is never read",
    ("monitoring/sla.py", 'window = f"{max(2, int((end - start).total_seconds()))}s"'):
        "differs only for periods under 2 s, shorter than any rule interval: one sample at most either way",
    ("monitoring/sla.py", "report.communes.sort(key=lambda f: (f.availability if f.availability is not None else 3, f.key))"):
        "equivalent: any value above 1 sorts the communes without data after every availability",
    ("monitoring/sla.py", 'interval = (yaml.safe_load(text).get("global") or {}).get("evaluation_interval", "XX1mXX")'):
        "Prometheus' /api/v1/status/config always holds global.evaluation_interval (its default, 1m, filled in): the fallback is never read",
}

# the bugs issue 25 put in by hand, which the suite then missed: (file, original, bug, tests)
HAND_MADE = [
    ("cloud/placement.py", "max(RESERVE_MIN_MIB, int(self.ram_mib * RESERVE_FRACTION))", "min(RESERVE_MIN_MIB, int(self.ram_mib * RESERVE_FRACTION))", MODULES["cloud/placement.py"]),
    ("network/lint.py", "if ascii_only and not line.isascii():", "if False and not line.isascii():", MODULES["network/lint.py"]),
    ("cloud/capacity/forecast.py", "return max(self.intercept + self.slope * (month - self.origin), 0.0)", "return self.intercept + self.slope * (month - self.origin)",
     MODULES["cloud/capacity/forecast.py"]),
    ("monitoring/sla.py", "total += float(number) * units[unit]", "total = float(number) * units[unit]", MODULES["monitoring/sla.py"]),
    ("monitoring/sla.py", '"h": 3600', '"h": 60', MODULES["monitoring/sla.py"]),
    ("network/diff.py", 'added = sum(1 for line in lines if line.startswith("+"))', 'added = sum(1 for line in lines if line.startswith("-"))', MODULES["network/diff.py"]),
]


# (module, name of a constant holding prose) → why its mutants (text changed) are not behaviour
PROSE: dict[tuple[str, str], str] = {
    ("cloud/capacity/rules.py", "RULE_TEXT"): "prose: the rules as the report words them (Vietnamese and English); tests pin the figures they carry, not the wording",
}


def prose_lines(module: str) -> dict[int, str]:
    """Line numbers (1-based) of the prose constants of ``module``, with the reason."""
    found: dict[int, str] = {}
    lines = (REPO_ROOT / module).read_text(encoding="utf-8").splitlines()
    for (owner, name), reason in PROSE.items():
        if owner != module:
            continue
        start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}"))
        end = next(i for i in range(start + 1, len(lines)) if lines[i] in ("]", "}", ")"))
        found.update({n + 1: reason for n in range(start, end + 1)})
    return found


# (module, an original line) → why no mutant of that line can be seen
EQUIVALENT_LINES: dict[tuple[str, str], str] = {
    ("inventory/checks.py", 'seen[name] = (*path, "vms", i)'): "equivalent: `seen` is only asked whether it holds a name; the path stored is never read",
    ("inventory/addressing.py", "next_free = int(clash.broadcast_address) + 1"):
        "speed only: the jump past a taken prefix; a shorter jump lands on a block that clashes again, the scan goes on to the same lowest free block",
    ("inventory/addressing.py", "candidate = max(candidate + step, ((next_free + step - 1) // step) * step)"):
        "speed only: the jump past a taken prefix; a shorter jump lands on a block that clashes again, the scan goes on to the same lowest free block",
    ("monitoring/ber.py", "@lru_cache(maxsize=OID_MEMORY)"): "speed only: encode_oid's cache of encoded OIDs; the bytes are the same with it, without it, at any size",
    ("inventory/addressing.py", 'tmp = target.with_name(f".{target.name}.hatang-new")'):
        "the temporary file's name: written, then renamed over the plan; no file of that name outlives save()",
}


def explanation(mutant: "Mutant") -> str | None:
    return (EXPLAINED.get((mutant.module, mutant.mutated)) or EQUIVALENT_LINES.get((mutant.module, mutant.original))
            or prose_lines(mutant.module).get(mutant.line))


@dataclass
class Mutant:
    module: str
    line: int
    status: str  # killed, survived, timeout, suspicious, untested
    mutated: str = ""
    original: str = ""


def mutmut(*args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)


def retest_survivors(module: str) -> None:
    """Mark the module's survivors untested: mutmut 2 does not always notice new tests."""
    cache = REPO_ROOT / ".mutmut-cache"
    if cache.exists():
        with sqlite3.connect(cache) as db:
            db.execute(
                "UPDATE Mutant SET status = 'untested' WHERE status = 'bad_survived' AND line IN "
                "(SELECT Line.id FROM Line JOIN SourceFile ON Line.sourcefile = SourceFile.id WHERE SourceFile.filename = ?)",
                (module,),
            )


def run_module(module: str) -> None:
    retest_survivors(module)
    tests = [t for t in MODULES[module] if (REPO_ROOT / t.split("::")[0]).exists()]
    print(f"mutating {module} against {' '.join(tests)}", flush=True)
    try:  # mutmut resumes where it stopped: a module cut short by the deadline continues on the next run
        done = mutmut("run", "--paths-to-mutate", module, "--runner", shlex.join([*PYTEST, *tests]), "--simple-output", timeout=MODULE_DEADLINE_S)
    except subprocess.TimeoutExpired:
        print(f"{module}: not finished within {MODULE_DEADLINE_S} s, continuing", flush=True)
        subprocess.run(["git", "checkout", "--", module], cwd=REPO_ROOT, check=True)
        return
    if done.returncode & 1:
        raise SystemExit(f"mutmut failed on {module}: {(done.stdout + done.stderr)[-2000:]}")
    if subprocess.run(["git", "diff", "--quiet", "--", module], cwd=REPO_ROOT).returncode:
        raise SystemExit(f"{module} was left mutated: restore it with git checkout")


def mutants() -> list[Mutant]:
    """Every mutant in mutmut's cache, from its JUnit XML."""
    found = []
    report = mutmut("junitxml", "--suspicious-policy=failure", "--untested-policy=failure").stdout
    for case in ET.fromstring(report).iter("testcase"):
        flagged = case.find("failure") if case.find("failure") is not None else case.find("error")
        message = flagged.get("message") if flagged is not None else None
        status = {None: "killed", "bad_survived": "survived", "bad_timeout": "timeout", "ok_suspicious": "killed", "untested": "untested"}.get(message, "other")
        added = [line[1:].strip() for line in (flagged.text or "").splitlines() if line.startswith("+") and not line.startswith("+++")] if flagged is not None else []
        original = (case.findtext("system-out") or "").strip()
        found.append(Mutant(case.get("file", ""), int(case.get("line", 0)), status, added[0] if added else "", original))
    return [m for m in found if m.module in MODULES]


def replay_hand_made() -> list[list[object]]:
    rows = []
    for path, original, bug, tests in HAND_MADE:
        file = REPO_ROOT / path
        text = file.read_text(encoding="utf-8")
        if original not in text:
            rows.append([path, f"`{bug}`", "the original line is gone: update bench/quality.py"])
            continue
        file.write_text(text.replace(original, bug, 1), encoding="utf-8")
        try:
            done = subprocess.run([*PYTEST, *tests], cwd=REPO_ROOT, capture_output=True, text=True)
        finally:
            file.write_text(text, encoding="utf-8")
        rows.append([path, f"`{bug}`", "caught" if done.returncode == 1 else "**missed**"])
    return rows


def write(all_mutants: list[Mutant], hand_made: list[list[object]]) -> None:
    rows, total_killed, total = [], 0, 0
    for module in MODULES:
        own = [m for m in all_mutants if m.module == module]
        tested = [m for m in own if m.status != "untested"]
        killed = sum(m.status in ("killed", "timeout") for m in tested)
        explained_here = sum(1 for m in tested if m.status == "survived" and explanation(m))
        rows.append([f"`{module}`", len(tested), killed, sum(m.status == "survived" for m in tested), explained_here, len(own) - len(tested),
                     f"{100 * killed / len(tested):.1f} %" if tested else "not run"])
        total_killed, total = total_killed + killed, total + len(tested)
    score = 100 * total_killed / total if total else 0.0
    untested = sum(m.status == "untested" for m in all_mutants)
    not_run = [row[0] for row in rows if row[-1] == "not run"]
    partly = [row[0] for row in rows if row[-1] != "not run" and row[5]]
    survivors = [m for m in all_mutants if m.status == "survived"]
    explained = [m for m in survivors if explanation(m)]
    lines = [
        "# Quality: do the tests catch bugs?",
        "",
        f"Written by `python -m bench.quality` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, {machine()}.",
        "Mutation testing with mutmut 2 (`pip install -e '.[quality]'`): each mutant of a pure module is run",
        "against the tests that exercise that module; a mutant is killed when a test fails (or it",
        "times out). Goal: at least 85 % killed, every survivor killed by a new test or explained below.",
        "",
        f"**Score: {total_killed} of {total} mutants tested killed, {score:.1f} %** (goal {GOAL:g} %); "
        f"{untested} mutant(s) not run, not counted (a module stopped at its deadline resumes on the next run; mutmut 2 leaves a few "
        "`continue` → `break` mutants untested).",
        "",
        f"Modules run: {len(MODULES) - len(not_run)} of {len(MODULES)}"
        + (f"; not run at all (no score claimed): {', '.join(not_run)}" if not_run else "")
        + (f"; run in part (the score counts only the mutants run): {', '.join(partly)}" if partly else "") + ".",
        "",
        table(["module", "mutants tested", "killed", "survived", "of which explained", "not yet run", "score"], rows),
        "",
        "## Surviving mutants",
        "",
        f"{len(survivors)} survive; {len(explained)} are explained (equivalent to the original or outside what a test can observe).",
        "",
    ]
    lines += [f"- `{m.module}:{m.line}` `{m.mutated}` — {explanation(m) or 'not yet killed'}" for m in survivors] or ["none"]
    lines += ["", "## The hand-made bugs of issue 25", "", "Each put back by hand and the module's tests run:", "",
              table(["module", "bug", "tests"], hand_made)]
    DOC.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[:12]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES), help="run only this module (repeatable)")
    parser.add_argument("--report", action="store_true", help="only rewrite docs/quality.md from the cache")
    args = parser.parse_args()
    if not args.report:
        for module in args.module or MODULES:
            run_module(module)
    write(mutants(), replay_hand_made())


if __name__ == "__main__":
    main()
