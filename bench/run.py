"""``make bench``: every benchmark, each beside its peer, into docs/benchmarks.md.

Benchmarks that need the lab take the lab lock themselves. A benchmark that fails is
reported and the others still run; the exit status says whether all succeeded.
"""

from __future__ import annotations

import subprocess
import sys

#: In order: the lab first (it measures up/down itself), then what needs no lab, then the rest.
BENCHMARKS = ("lab", "render", "cloud", "capacity", "push", "snmp", "deploy", "runbooks", "hostile")


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== bench.{name} ===", flush=True)
        result = subprocess.run([sys.executable, "-m", f"bench.{name}"])
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("\nall benchmarks written to docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
