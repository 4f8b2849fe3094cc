"""Benchmark: render every router configuration of the province, and of 10,000 synthetic
communes (goal: the province in at most 1 s).

The synthetic province keeps the real data center, core and districts and adds 200
synthetic districts of 50 communes each, under four synthetic cores (a router has at
most 64 ports). To stay inside 198.18.0.0/15 (the only range
the lab and benchmarks may use) its CPEs carry an uplink and a loopback but no LAN:
10,000 /26 LANs would not fit. Credentials are fixed fake values.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path


import yaml

from bench.report import peak_rss_mib, table, write_section
from hatang.credentials import env_var_name
from hatang.inventory import load
from hatang.network.render import Renderer
from hatang.paths import DEFAULT_INVENTORY

FAKE = {
    ("net-admin", "username"): "bench", ("net-admin", "password"): "bench-admin",
    ("net-readonly", "username"): "benchro", ("net-readonly", "password"): "bench-ro",
    ("snmp-v3", "username"): "benchmon", ("snmp-v3", "auth_key"): "bench-auth", ("snmp-v3", "priv_key"): "bench-priv",
    ("snmp-community", "community"): "bench-community",
}
#: Ports are numbered 0-63, so the synthetic districts hang off four synthetic cores.
SYNTHETIC_DISTRICTS, COMMUNES_PER_DISTRICT, DISTRICTS_PER_CORE = 200, 50, 50
RUNS = 5


def timed_render(directory: Path, env: str, *, check: bool = True) -> tuple[int, list[float], float]:
    """(routers, render seconds of each run, load seconds)."""
    started = time.perf_counter()
    inv = load(directory, env, check=check)
    loaded = time.perf_counter() - started
    names = [d.name for d in inv.routers()]
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        Renderer(inv).render_many(names)
        times.append(time.perf_counter() - started)
    return len(names), times, loaded


def synthetic_inventory(target: Path) -> int:
    """Copy the repository's inventory, add the synthetic districts and communes, and
    write their lab addresses straight into the plan. Returns the commune count."""
    shutil.copytree(DEFAULT_INVENTORY, target)
    read = lambda name: yaml.safe_load((target / name).read_text(encoding="utf-8"))  # noqa: E731
    province, network, plan = read("province.yaml"), read("network.yaml"), read("addressing/lab.yaml")
    for d in range(SYNTHETIC_DISTRICTS):
        code, slug = f"{700 + d}", f"synth-{d:03d}"
        router, core = f"dr-{slug}", f"core-synth-{d // DISTRICTS_PER_CORE}"
        if d % DISTRICTS_PER_CORE == 0:
            network["devices"].append({"name": core, "site": "iic-dc", "role": "core", "platform": "junos", "environments": ["lab"]})
        province["districts"].append({"code": code, "name": f"Huyện thử {d}", "type": "huyen", "slug": slug})
        network["devices"].append({"name": router, "site": slug, "role": "district", "platform": "eos", "environments": ["lab"]})
        network["links"].append({"a": {"device": core, "port": d % DISTRICTS_PER_CORE}, "b": {"device": router, "port": 0}})
        for c in range(COMMUNES_PER_DISTRICT):
            cslug = f"{slug}-{c:03d}"
            province["communes"].append({"code": f"{80000 + d * COMMUNES_PER_DISTRICT + c:05d}", "name": f"Xã thử {d}-{c}", "type": "xa", "slug": cslug, "district": code})
            network["devices"].append({"name": f"cpe-{cslug}", "site": cslug, "role": "commune_cpe", "platform": "ios", "environments": ["lab"]})
            network["links"].append({"a": {"device": router, "port": 1 + c}, "b": {"device": f"cpe-{cslug}", "port": 0}})
    in_lab = [d for d in network["devices"] if "lab" in d.get("environments", ["lab"])]
    plan["supernets"]["loopback"]["prefix"] = "198.18.0.0/18"
    plan["supernets"]["p2p"]["prefix"] = "198.18.128.0/17"
    plan["supernets"]["mgmt"] = {"prefix": "198.19.64.0/18", "block": 32, "reserved": ["198.19.64.0/30"]}
    plan["gateway"] = "198.19.64.1"
    allocations = plan["allocations"]
    allocations["loopback"] = {d["name"]: f"{IPv4Address('198.18.0.1') + i}/32" for i, d in enumerate(in_lab) if d["role"] != "firewall"}
    allocations["mgmt"] = {d["name"]: f"{IPv4Address('198.19.64.4') + i}/32" for i, d in enumerate(in_lab)}
    p2p = IPv4Network("198.18.128.0/17").subnets(new_prefix=31)
    lab_names = {d["name"] for d in in_lab}
    allocations["p2p"] = {f"{l['a']['device']}--{l['b']['device']}": str(next(p2p)) for l in network["links"] if {l["a"]["device"], l["b"]["device"]} <= lab_names}
    for name, doc in (("province.yaml", province), ("network.yaml", network), ("addressing/lab.yaml", plan)):
        (target / name).write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return SYNTHETIC_DISTRICTS * COMMUNES_PER_DISTRICT


def main() -> None:
    for (ref, field), value in FAKE.items():
        os.environ[env_var_name(ref, field)] = value
    rows = []
    for env in ("lab", "production"):
        routers, times, loaded = timed_render(DEFAULT_INVENTORY, env)
        rows.append([f"province ({env})", routers, f"{loaded:.2f}", f"{min(times):.3f}", f"{statistics.median(times):.3f}", f"{routers / min(times):,.0f}"])
    with tempfile.TemporaryDirectory(prefix="hatang-bench-render-") as tmp:
        communes = synthetic_inventory(Path(tmp) / "inventory")
        routers, times, loaded = timed_render(Path(tmp) / "inventory", "lab", check=False)
        rows.append([f"synthetic: {communes:,} communes (lab)", routers, f"{loaded:.2f}", f"{min(times):.3f}", f"{statistics.median(times):.3f}", f"{routers / min(times):,.0f}"])
    province_s = float(rows[0][3])
    body = "\n".join([
        table(["configurations", "routers", "load s", f"render s (best of {RUNS})", "median s", "routers/s"], rows),
        "",
        f"Goal: the province in at most 1 s — **{'met' if province_s <= 1 else 'missed'}** ({province_s:.3f} s). "
        f"Peak RSS {peak_rss_mib():.0f} MiB. Render = inventory → intent → Jinja2 template → lint, per router, one process, one core. "
        "The synthetic inventory is loaded without the semantic checks (its address plan is still loaded and "
        "checked for overlaps, in one sorted sweep).",
    ])
    write_section("render", "Render: every router configuration", "python -m bench.render", body)


if __name__ == "__main__":
    main()
