"""Bad input gets a clear message naming the file and row (or key) and a non-zero exit."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from hatang.cloud.capacity.catalog import EXAMPLES
from hatang.cloud.capacity.report import build_report
from hatang.errors import HatangError
from hatang.inventory.load import load
from hatang.paths import DEFAULT_INVENTORY

HEADER = "month,cluster,cpu_used_cores,ram_used_gib,storage_used_gb:ceph-vm\n"
GOOD = ["2026-01,pve-core,40,400,9000", "2026-02,pve-core,41,402,9050", "2026-03,pve-core,42,404,9100"]


def history(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "history.csv"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ((GOOD[0], GOOD[2], "2026-04,pve-core,43,406,9150"), "row 3: the history of pve-core jumps from 2026-01 to 2026-03"),
        ((GOOD[0], "2026-02,pve-core,-41,402,9050", GOOD[2]), "row 3, column cpu_used_cores: -41 is not a usage"),
        ((GOOD[0], "2026-02,pve-core,41,402,lots", GOOD[2]), "row 3, column storage_used_gb:ceph-vm: 'lots' is not a number"),
        ((GOOD[0], "2026-02,pve-moon,41,402,9050", GOOD[2]), "row 3, column cluster: unknown cluster 'pve-moon'"),
        ((GOOD[0], "2026-13,pve-core,41,402,9050", GOOD[2]), "row 3, column month: '2026-13' is not a month"),
        ((*GOOD, "2026-02,pve-core,41,402,9050"), "row 5: a second sample for pve-core in 2026-02 (first at row 3)"),
        ((GOOD[0], "2026-02,pve-core,41,,9050", GOOD[2]), "row 3, column ram_used_gib: empty"),
        ((GOOD[0], GOOD[1]), "pve-core has 2 month(s) of history; a trend needs at least 3"),
        ((GOOD[0], "2026-02,pve-core,41,402", GOOD[2]), "row 3: 4 cells, the header has 5"),
    ],
    ids=["gap", "negative", "not-a-number", "unknown-cluster", "bad-month", "duplicate", "empty-cell", "too-short", "short-row"],
)
def test_bad_history(tmp_path: Path, hatang, rows: tuple[str, ...], message: str) -> None:
    path = history(tmp_path, *rows)
    run = hatang("capacity", "report", "--history", str(path), "--json")
    assert run.code == 2, run.err
    assert f"{path}: {message}" in " ".join(run.err.split())
    assert run.out == ""


def test_storage_the_cluster_lacks(tmp_path: Path, hatang) -> None:
    path = history(tmp_path, "2026-01,pve-dmz,4,50,10", header=HEADER)
    run = hatang("capacity", "report", "--history", str(path), "--json")
    assert run.code == 2
    assert "row 2, column storage_used_gb:ceph-vm: cluster pve-dmz has no storage 'ceph-vm'" in run.err


def test_bad_header(tmp_path: Path, hatang) -> None:
    path = history(tmp_path, *GOOD, header="month,cluster,cpu,ram_used_gib\n")
    run = hatang("capacity", "report", "--history", str(path), "--json")
    assert run.code == 2
    assert "row 1 (header): missing column(s) cpu_used_cores; unknown column(s) cpu" in run.err


def test_unknown_cluster_option(hatang) -> None:
    run = hatang("capacity", "report", "--cluster", "pve-moon", "--json")
    assert run.code != 0
    assert "unknown cluster 'pve-moon'" in run.err


def test_drivers_naming_an_unknown_cluster(tmp_path: Path, hatang) -> None:
    text = (EXAMPLES / "drivers.yaml").read_text(encoding="utf-8").replace("cluster: pve-dmz\n  class: standard", "cluster: pve-mars\n  class: standard")
    drivers = tmp_path / "drivers.yaml"
    drivers.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  cluster: pve-mars") + 1
    run = hatang("capacity", "report", "--drivers", str(drivers), "--json")
    assert run.code == 2
    assert f"drivers file {drivers}:{line}: new_services[2].cluster: unknown cluster 'pve-mars'" in run.err


def test_drivers_with_a_typo(tmp_path: Path, hatang) -> None:
    drivers = tmp_path / "drivers.yaml"
    drivers.write_text("drivers:\n- name: x\n  cluster: pve-core\n  class: critical\n  amount: {2020: 5}\n  per_unit: {vcpus: 1}\n", encoding="utf-8")
    run = hatang("capacity", "report", "--drivers", str(drivers), "--json")
    assert run.code == 2
    assert f"{drivers}:6: drivers[0].per_unit.vcpus: unknown key" in run.err


def test_catalogue_default_not_listed(tmp_path: Path, hatang) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text((EXAMPLES / "catalog.yaml").read_text(encoding="utf-8").replace("default: r760-64c-512g", "default: r960"), encoding="utf-8")
    run = hatang("capacity", "report", "--catalog", str(catalog), "--json")
    assert run.code == 2
    assert "default: spec 'r960' is not among the specs" in run.err


def test_one_node_cluster_is_refused_with_its_place() -> None:
    inv = load(None, "lab")
    path, cluster = inv.clusters[1]
    lone = cluster.model_copy(update={"nodes": cluster.nodes[:1]})
    inv = dataclasses.replace(inv, clusters=[inv.clusters[0], (path, lone)])
    line = inv.sources["datacenter.yaml"].line_of((*path, "nodes"))
    with pytest.raises(HatangError) as exc:
        build_report(inv, horizon_years=1)
    assert exc.value.exit_code == 2
    assert f"datacenter.yaml:{line}: clusters[1].nodes: cluster pve-dmz has 1 node: N+1 is impossible" in exc.value.message
    # the other cluster alone still plans
    assert [c.name for c in build_report(inv, horizon_years=1, clusters=["pve-core"]).clusters] == ["pve-core"]


def test_one_node_cluster_from_the_command_line(tmp_path: Path, hatang) -> None:
    """A real inventory edited so that pve-dmz keeps one node (its services lose their anti-affinity)."""
    inv_dir = tmp_path / "inventory"
    shutil.copytree(DEFAULT_INVENTORY, inv_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    dc = inv_dir / "datacenter.yaml"
    text = dc.read_text(encoding="utf-8")
    for name in ("pve-dmz-02", "pve-dmz-03"):
        text = "\n".join(line for line in text.splitlines() if f"name: {name}," not in line) + "\n"
    dc.write_text(text, encoding="utf-8")
    services = inv_dir / "services.yaml"
    services.write_text(services.read_text(encoding="utf-8").replace(", anti_affinity: dvc-web", "").replace(", anti_affinity: portal-web", ""), encoding="utf-8")
    run = hatang("capacity", "report", "--inventory", str(inv_dir), "--json")
    assert run.code == 2, run.err
    # the inventory itself refuses it first: one host cannot hold the 3 replicas of ceph-dmz
    assert "clusters[1]: cluster pve-dmz: storage ceph-dmz needs 840 GB, usable 0 GB (hosts too few for its copies: cannot re-replicate)" in run.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ratio", "critical"], "expected CLASS=LIMIT"),
        (["--ratio", "gold=3"], "unknown service class 'gold'"),
        (["--ratio", "batch=0"], "must be > 0"),
        (["--policy", "n+3"], "expected one of n, n+1, n+2"),
        (["--horizon-years", "0"], "between 1 and 15"),
        (["--start", "2026/01"], "not a month"),
        (["--node-spec", "cray-1"], "no spec 'cray-1'"),
    ],
)
def test_bad_options(hatang, args: list[str], message: str) -> None:
    run = hatang("capacity", "report", "--json", *args)
    assert run.code != 0
    assert message in run.err


def test_a_spreadsheet_export_reads_the_same(tmp_path: Path) -> None:
    """Excel in a Vietnamese locale: a byte-order mark, ';' between cells, decimal commas."""
    from hatang.cloud.capacity.history import read_history

    pools = {"pve-core": ["ceph-vm"]}
    plain = read_history(history(tmp_path, *GOOD), pools)
    excel = tmp_path / "excel.csv"
    excel.write_text("\ufeff" + (HEADER + "\n".join(GOOD)).replace(",", ";").replace("40;", "40,0;"), encoding="utf-8")
    assert read_history(excel, pools) == plain


def test_catalogue_naming_an_unknown_cluster(tmp_path: Path, hatang) -> None:
    catalog = tmp_path / "catalog.yaml"
    text = (EXAMPLES / "catalog.yaml").read_text(encoding="utf-8").replace("  pve-dmz: r660-32c-256g", "  pve-moon: r660-32c-256g")
    catalog.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  pve-moon: r660-32c-256g") + 1
    run = hatang("capacity", "report", "--catalog", str(catalog), "--json")
    assert run.code == 2
    assert f"catalogue {catalog}:{line}: clusters.pve-moon: unknown cluster 'pve-moon'" in run.err


def test_prometheus_url_that_is_not_prometheus(tmp_path: Path) -> None:
    """An HTTP server that is not Prometheus (a 404 page): said plainly, with the URL."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from hatang.cloud.capacity.prometheus import read_prometheus

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(HatangError, match=f"Prometheus at {url} answered HTTP 404 with no JSON"):
            read_prometheus(url, load(None, "lab"), months=3)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
