"""Fault run: every broken or hostile inventory of the corpus, through ``inventory validate``.

The corpus (``tests/inventory/broken.yaml``) edits a copy of the real inventory per
case. Each case is run in-process, as the CLI runs it, and classified: a clear error
(exit 2, a ``file:line`` location, no traceback), a traceback (any exception escaping
the CLI), or a wrong acceptance (exit 0). Goals: tracebacks 0, wrong acceptances 0,
every case within 2 s (the alias bomb included).

    python -m bench.hostile
"""

from __future__ import annotations

import contextlib
import io
import re
import random
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.report import write_section
from hatang.paths import DEFAULT_INVENTORY, REPO_ROOT

CORPUS_FILE = REPO_ROOT / "tests" / "inventory" / "broken.yaml"
#: A problem line as validation prints it: "  <file>.yaml:<line>: <key path or message>".
LOCATED = re.compile(r"^\s+\S+\.yaml:\d+: \S")
GOAL_S = 2.0
MUTATION_SEED, MUTATION_COUNT = 18, 300


def corpus() -> list[dict]:
    return yaml.safe_load(CORPUS_FILE.read_text(encoding="utf-8"))


def copy_inventory(target: Path) -> Path:
    shutil.copytree(DEFAULT_INVENTORY, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def apply_edits(directory: Path, edits: list[dict]) -> None:
    """Apply a case's edits: ``find``/``replace`` (text, must match once), ``find``/
    ``replace_bytes`` (the replacement's code points 0-255 written as raw bytes, for
    input that is not UTF-8) or ``content`` (the whole file)."""
    for edit in edits:
        path = directory / edit["file"]
        if "content" in edit:
            path.write_text(edit["content"], encoding="utf-8")
            continue
        raw = path.read_bytes()
        find = edit["find"].encode()
        if raw.count(find) != 1:
            raise AssertionError(f"corpus edit must match once in {edit['file']}: {edit['find']!r}")
        replace = edit["replace_bytes"].encode("latin-1") if "replace_bytes" in edit else edit["replace"].encode()
        path.write_bytes(raw.replace(find, replace))


@dataclass
class Outcome:
    """What ``hatang inventory validate`` did with one case."""

    exit_code: int
    stderr: str
    traceback: str | None
    seconds: float

    @property
    def located(self) -> bool:
        return any(LOCATED.match(line) for line in self.stderr.splitlines())

    @property
    def clear(self) -> bool:
        return self.traceback is None and self.exit_code == 2 and self.located


def validate(directory: Path, env: str = "lab") -> Outcome:
    """Run ``hatang inventory validate`` in this process, as the console script does."""
    from hatang.cli import main

    stderr, stdout = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["hatang", "inventory", "validate", "--env", env, "--inventory", str(directory)]
    code, trace = 0, None
    start = time.perf_counter()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - a traceback is what this run counts
        code, trace = 1, traceback.format_exc()
    finally:
        sys.argv = argv
    return Outcome(code, stderr.getvalue(), trace, time.perf_counter() - start)


def run_case(case: dict, scratch: Path) -> Outcome:
    directory = copy_inventory(scratch / case["name"])
    apply_edits(directory, case["edits"])
    return validate(directory)


#: Files and values the mutation run puts anywhere in the inventory.
MUTATED_FILES = ("province.yaml", "agencies.yaml", "network.yaml", "datacenter.yaml", "services.yaml", "credentials.yaml", "addressing/lab.yaml")
MUTATIONS: tuple[object, ...] = (
    None, [], {}, 0, -1, 10**30, 1.5, True, "", "x" * 300, [1], {"a": 1}, "::1", "198.18.0.0/15",
    "a\nb", "\u202e", "[/x]", "{{ lookup('pipe', 'id') }}", "$\\frac{$", 'q"; disable; "',
)


def _key_paths(data: object, prefix: tuple = ()) -> list[tuple]:
    """Key paths of ``data`` (the first four items of each list)."""
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _key_paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data[:4]):
            found += _key_paths(value, (*prefix, index))
    return found


def mutate(directory: Path, rng: random.Random) -> str:
    """Replace one value anywhere in one file of ``directory`` by a hostile one; the
    mutation, described."""
    file = rng.choice(MUTATED_FILES)
    data = yaml.safe_load((directory / file).read_text(encoding="utf-8"))
    path = rng.choice(_key_paths(data))
    value = rng.choice(MUTATIONS)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    (directory / file).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return f"{file} {'.'.join(map(str, path))} = {value!r}"


def mutation_run(seed: int, count: int, scratch: Path) -> list[tuple[str, Outcome]]:
    """``count`` single-value mutations of the real inventory, each validated."""
    rng = random.Random(seed)
    runs = []
    for n in range(count):
        directory = copy_inventory(scratch / f"mutation-{seed}-{n}")
        what = mutate(directory, rng)
        runs.append((what, validate(directory)))
        shutil.rmtree(directory)
    return runs


def process_seconds(case: dict, scratch: Path) -> float:
    """Wall time of one case as its own ``hatang inventory validate`` process (start-up
    and imports included)."""
    directory = copy_inventory(scratch / f"{case['name']}-process")
    apply_edits(directory, case["edits"])
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hatang.cli", "inventory", "validate", "--inventory", str(directory)], capture_output=True, timeout=60)
    return time.perf_counter() - start


def main() -> None:
    cases = corpus()
    outcomes: list[tuple[str, Outcome]] = []
    with tempfile.TemporaryDirectory(prefix="hatang-hostile-") as scratch:
        for case in cases:
            outcomes.append((case["name"], run_case(case, Path(scratch))))
        slowest_name, slowest = max(outcomes, key=lambda item: item[1].seconds)
        whole = process_seconds(next(c for c in cases if c["name"] == slowest_name), Path(scratch))
        mutations = mutation_run(MUTATION_SEED, MUTATION_COUNT, Path(scratch))
    clear = [n for n, o in outcomes if o.clear]
    tracebacks = [n for n, o in outcomes if o.traceback]
    accepted = [n for n, o in outcomes if o.exit_code == 0]
    unclear = [n for n, o in outcomes if not o.clear and not o.traceback and o.exit_code != 0]
    over = [n for n, o in outcomes if o.seconds > GOAL_S]
    body = (
        "| cases tried | clear errors (exit 2, file:line) | tracebacks (goal 0) | wrong acceptances (goal 0) "
        "| other failures | max time per case (goal ≤ 2 s) | the same as its own process | over 2 s |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"| {len(outcomes)} | {len(clear)} | {len(tracebacks)} | {len(accepted)} | {len(unclear)} "
        f"| {slowest.seconds:.2f} s ({slowest_name}) | {whole:.2f} s | {len(over)} |\n\n"
        "Each case is one broken or hostile inventory of `tests/inventory/broken.yaml` (non-UTF-8 input, "
        "an alias bomb, recursive aliases, deep nesting, wrong shapes, empty sections, control, bidi and "
        "zero-width characters in names, code in export fields…), validated in-process as the CLI runs it."
    )
    crashed = [what for what, o in mutations if o.traceback]
    refused = [what for what, o in mutations if not o.traceback and o.exit_code != 0]
    unlocated = [what for what, o in mutations if o.exit_code != 0 and not o.traceback and not o.clear]
    body += (
        f"\n\nMutations (`mutation_run(seed={MUTATION_SEED})`: one value anywhere in one file replaced by a hostile one): "
        f"{len(mutations)} tried, {len(refused)} refused, {len(mutations) - len(refused) - len(crashed)} still valid, "
        f"{len(crashed)} tracebacks (goal 0), {len(unlocated)} refusals without a file:line (goal 0), "
        f"slowest {max(o.seconds for _, o in mutations):.2f} s."
    )
    for label, names in (("mutation tracebacks", crashed), ("tracebacks", tracebacks), ("wrong acceptances", accepted), ("other failures", unclear), ("over 2 s", over)):
        if names:
            body += f"\n\n{label}: {', '.join(names)}"
    write_section("inventory-hostile", "Hostile inventories (inventory validate)", "python -m bench.hostile", body, reliability=True)


if __name__ == "__main__":
    main()
