"""History from a real Prometheus (Debian's package): samples backfilled with promtool,
read back through the HTTP API with the documented queries."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import requests

from hatang.cloud.capacity.months import parse_month
from hatang.cloud.capacity.prometheus import month_start, read_prometheus
from hatang.errors import HatangError
from hatang.inventory.load import load

pytestmark = pytest.mark.skipif(not shutil.which("prometheus") or not shutil.which("promtool"), reason="needs Debian's prometheus package")

FIRST = parse_month("2025-03")  # four months of data: 2025-03 … 2025-06 for pve-core
UNTIL = parse_month("2025-06")
GIB = 2**30


def openmetrics(inv) -> str:
    """Hourly samples. In month i (0 from 2025-03), every node of pve-core runs at CPU ratio
    0.10 + 0.02i of its threads and uses 100 + 10i GiB; the shared pools read 5000 + 100i GB
    in the second half of the month (30 GB less in the first half, so the month-end value
    differs from the mean); each node's local-lvm holds 10 + i GB. pve-dmz has two months only."""
    families: dict[str, list[str]] = {n: [] for n in ("pve_cpu_usage_ratio", "pve_cpu_usage_limit", "pve_memory_usage_bytes", "pve_disk_usage_bytes")}
    for cluster_name, months in (("pve-core", 4), ("pve-dmz", 2)):
        cluster = inv.cluster_by_name[cluster_name]
        start = FIRST + 4 - months
        t, end = int(month_start(start).timestamp()), int(month_start(UNTIL + 1).timestamp())
        while t < end:
            i = time.gmtime(t).tm_year * 12 + time.gmtime(t).tm_mon - 1 - FIRST
            late = time.gmtime(t).tm_mday > 15
            for node in cluster.nodes:
                labels = f'cluster="{cluster_name}",id="node/{node.name}",node="{node.name}",type="node"'
                families["pve_cpu_usage_ratio"].append(f"pve_cpu_usage_ratio{{{labels}}} {0.10 + 0.02 * i} {t}")
                families["pve_cpu_usage_limit"].append(f"pve_cpu_usage_limit{{{labels}}} {node.cores * node.threads_per_core} {t}")
                families["pve_memory_usage_bytes"].append(f"pve_memory_usage_bytes{{{labels}}} {(100 + 10 * i) * GIB} {t}")
                for storage in cluster.storage:
                    gb = (10 + i) if not storage.shared else (5000 + 100 * i - (0 if late else 30))
                    families["pve_disk_usage_bytes"].append(
                        f'pve_disk_usage_bytes{{cluster="{cluster_name}",id="storage/{node.name}/{storage.name}",node="{node.name}",type="storage"}} {gb * 10**9} {t}'
                    )
            t += 3600
    lines = []
    for name, samples in families.items():
        lines += [f"# TYPE {name} gauge", *samples]
    return "\n".join([*lines, "# EOF"]) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("prom")
    (work / "data.om").write_text(openmetrics(load(None, "lab")), encoding="utf-8")
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=8760h", str(work / "data.om"), str(work / "tsdb")], check=True, capture_output=True, timeout=300)
    (work / "prometheus.yml").write_text("global: {scrape_interval: 1m}\n", encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'tsdb'}", "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=(work / "prometheus.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("prometheus did not become ready:\n" + (work / "prometheus.log").read_text())
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_monthly_history_from_prometheus(prometheus: str) -> None:
    inv = load(None, "lab")
    history = read_prometheus(prometheus, inv, months=6, until=UNTIL)
    # pve-dmz has two months: too short for a trend, so it has no history
    assert set(history) == {"pve-core"}
    core = history["pve-core"]
    # the months with data: 2025-03 … 2025-06 (the two empty months asked for are trimmed)
    assert (core.first, core.last) == (FIRST, UNTIL)
    nodes = inv.cluster_by_name["pve-core"].nodes
    for i in range(4):
        # busy threads Σ ratio × threads, scaled by cores ÷ threads: Σ ratio × cores
        assert core.values["cpu"][i] == pytest.approx(sum(n.cores for n in nodes) * (0.10 + 0.02 * i))
        assert core.values["ram"][i] == pytest.approx(len(nodes) * (100 + 10 * i))
        # shared pools: one node's report (max), the month-end value, not the mean
        assert core.values["storage:ceph-vm"][i] == pytest.approx(5000 + 100 * i)
        assert core.values["storage:backup-nfs"][i] == pytest.approx(5000 + 100 * i)
        # local storage: summed over the nodes
        assert core.values["storage:local-lvm"][i] == pytest.approx(len(nodes) * (10 + i))


def test_report_from_prometheus(prometheus: str, hatang, tmp_path) -> None:
    import json

    from hatang.cloud.capacity.history import read_history

    out = tmp_path / "report"
    run = hatang("capacity", "report", "--prometheus", prometheus, "--history-months", "6", "--start", "2025-07", "--no-drivers", "--json", "-o", str(out))
    assert run.code == 0, run.err
    # the report keeps the history it fetched, in the CSV form: reading it back gives the same samples
    inv = load(None, "lab")
    pools = {c.name: [s.name for s in c.storage] for c in inv.cluster_by_name.values()}
    saved, fetched = read_history(out / "history.csv", pools), read_prometheus(prometheus, inv, months=6, until=UNTIL)
    assert set(saved) == set(fetched) == {"pve-core"}
    assert saved["pve-core"].first == fetched["pve-core"].first
    assert saved["pve-core"].values.keys() == fetched["pve-core"].values.keys()
    for key, values in fetched["pve-core"].values.items():
        assert saved["pve-core"].values[key] == pytest.approx(values, abs=1e-3)  # saved to 3 decimals
    data = json.loads(run.out)
    assert data["inputs"]["history"].startswith(f"Prometheus {prometheus}")
    core = next(c for c in data["clusters"] if c["name"] == "pve-core")
    # RAM rises 40 GiB a month (4 nodes × 10): the fitted slope
    assert core["trends"]["ram"]["slope_per_month"] == pytest.approx(40)
    assert next(c for c in data["clusters"] if c["name"] == "pve-dmz")["history"] is None


def test_unreachable_prometheus() -> None:
    port = free_port()
    with pytest.raises(HatangError, match=f"cannot reach Prometheus at http://127.0.0.1:{port}"):
        read_prometheus(f"http://127.0.0.1:{port}", load(None, "lab"), months=3, until=UNTIL)


def test_empty_prometheus_says_what_it_expects(prometheus: str) -> None:
    with pytest.raises(HatangError, match="no pve-exporter samples with a cluster label"):
        read_prometheus(prometheus, load(None, "lab"), months=3, until=parse_month("2020-06"))
