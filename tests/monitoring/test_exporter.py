"""hatang's exporter over HTTP, against a real snmpd: snmp_exporter's names and shapes,
a failing target failing only its own scrape, the exporter's own health."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from mon_agent import LOOPBACK, Agent, exporter_serving, free_tcp_port, free_udp_port, serving
from prometheus_client.parser import text_string_to_metric_families

from hatang.monitoring.exporter import Exporter



@pytest.fixture(scope="module")
def exporter_url(agent: Agent) -> Iterator[str]:
    make = lambda: Exporter({"v3": agent.v3, "v2c": agent.v2c}, default_auth="v3", timeout=0.5, retries=1, concurrency=8, policy=LOOPBACK,  # noqa: E731
                            inventory_metrics=b"# inventory\n")
    with exporter_serving(make) as url:
        yield url


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_if_mib_has_snmp_exporter_names(exporter_url: str, agent: Agent) -> None:
    status, body = get(f"{exporter_url}/snmp?target={agent.address}&module=if_mib")
    assert status == 200, body
    families = {f.name: f for f in text_string_to_metric_families(body)}
    # counters keep their MIB names: no _total, as snmp_exporter publishes them
    assert "# TYPE ifHCInOctets counter" in body
    assert "ifHCInOctets_total" not in body
    for name in ("ifHCInOctets", "ifHCOutOctets", "ifInErrors", "ifOutDiscards"):
        assert families[name].type == "counter"
    for name in ("ifOperStatus", "ifAdminStatus", "ifHighSpeed", "sysUpTime", "snmp_scrape_duration_seconds", "snmp_scrape_pdus_returned", "snmp_scrape_walk_duration_seconds"):
        assert families[name].type == "gauge", name
    sample = families["ifOperStatus"].samples[0]
    assert set(sample.labels) == {"ifIndex", "ifName", "ifDescr", "ifAlias"}
    assert any(s.labels["ifName"] == "lo" and s.value == 1 for s in families["ifOperStatus"].samples)


def test_several_modules_and_v2c(exporter_url: str, agent: Agent) -> None:
    status, body = get(f"{exporter_url}/snmp?target={agent.address}&module=system&module=if_mib&auth=v2c")
    assert status == 200, body
    assert 'sysName{sysName="hatang-test-agent"} 1.0' in body
    assert body.count("\nsysUpTime ") == 1  # in both modules, published once


def test_dead_target_fails_its_own_scrape_only(exporter_url: str, agent: Agent) -> None:
    dead_port = free_udp_port()
    dead: dict[str, tuple[int, str]] = {}
    thread = threading.Thread(target=lambda: dead.update(r=get(f"{exporter_url}/snmp?target=127.0.0.1:{dead_port}&module=system")))
    thread.start()
    status, _ = get(f"{exporter_url}/snmp?target={agent.address}&module=system")
    live_done_while_dead_pending = thread.is_alive()
    thread.join()
    assert status == 200
    assert live_done_while_dead_pending
    assert dead["r"][0] == 500 and "no SNMP response" in dead["r"][1]


@pytest.mark.parametrize(
    ("query", "message"),
    [("module=if_mib", "'target' parameter must be specified once"), ("target=x&module=nope", "unknown module 'nope'"), ("target=x&auth=v1", "Unknown auth 'v1'")],
)
def test_bad_requests_say_why(exporter_url: str, query: str, message: str) -> None:
    status, body = get(f"{exporter_url}/snmp?{query}")
    assert status == 400 and message in body


def test_own_health_and_inventory(exporter_url: str, agent: Agent) -> None:
    get(f"{exporter_url}/snmp?target={agent.address}&module=system")
    status, body = get(f"{exporter_url}/metrics")
    assert status == 200
    scrapes = {tuple(sorted(s.labels.items())): s.value for f in text_string_to_metric_families(body) if f.name == "hatang_exporter_scrapes" for s in f.samples if s.name.endswith("_total")}
    assert scrapes[(("module", "system"), ("result", "ok"))] >= 1
    assert "process_resident_memory_bytes" in body
    assert get(f"{exporter_url}/inventory") == (200, "# inventory\n")


@pytest.fixture(scope="module")
def snmp_exporter_url(agent: Agent, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's prometheus-snmp-exporter with the snmp.yml hatang generates, stopped by pid."""
    import shutil

    from hatang.monitoring.snmp_exporter_yml import snmp_yml

    binary = shutil.which("prometheus-snmp-exporter")
    if binary is None:
        pytest.skip("prometheus-snmp-exporter is not installed")
    config = tmp_path_factory.mktemp("snmp_exporter") / "snmp.yml"
    config.write_text(snmp_yml(agent.v3, ["system", "if_mib"], timeout=1, retries=1))
    url = f"http://127.0.0.1:{free_tcp_port()}"
    with serving([binary, f"--config.file={config}", f"--web.listen-address={url.removeprefix('http://')}"], f"{url}/metrics"):
        yield url


def shapes(body: str) -> dict[tuple[str, str], set[tuple[str, ...]]]:
    """(family, type) -> the label-name sets of its samples."""
    return {
        (f.name, f.type): {tuple(sorted(s.labels)) for s in f.samples}
        for f in text_string_to_metric_families(body)
        if not f.name.startswith(("snmp_scrape", "hatang_snmp_scrape"))
    }


@pytest.mark.parametrize("module", ["system", "if_mib"])
def test_same_names_types_labels_and_rows_as_snmp_exporter(exporter_url: str, snmp_exporter_url: str, agent: Agent, module: str) -> None:
    """The peer itself, on the same agent and OIDs: what dashboards and rules see is identical."""
    ours = get(f"{exporter_url}/snmp?target={agent.address}&module={module}")[1]
    theirs = get(f"{snmp_exporter_url}/snmp?target={agent.address}&module={module}")
    assert theirs[0] == 200, theirs[1]
    assert shapes(ours) == shapes(theirs[1])
    gauges = lambda body: {(s.name, tuple(sorted(s.labels.items())), s.value) for f in text_string_to_metric_families(body)  # noqa: E731
                           if f.type == "gauge" and f.name in ("ifOperStatus", "ifAdminStatus", "sysName", "ifHighSpeed") for s in f.samples}
    assert gauges(ours) == gauges(theirs[1])


def test_garbage_and_wrong_methods_do_not_hurt_the_server(exporter_url: str, agent: Agent) -> None:
    import socket

    host, port = exporter_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"garbage\r\n\r\n")
        assert sock.recv(100) == b""  # closed without an answer
    request = urllib.request.Request(f"{exporter_url}/snmp?target={agent.address}", method="POST", data=b"x")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 405
    assert get(f"{exporter_url}/snmp?target={agent.address}&module=system")[0] == 200
