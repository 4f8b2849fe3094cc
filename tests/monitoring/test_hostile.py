"""The exporter against a misbehaving agent of its own (hatang.lab.hostile_agent) and hostile
HTTP requests: a wrong answer fails its scrape clearly or is counted, never passes as
a good one; a slow agent's late answer is taken; dead targets do not queue live ones;
targets and modules are only those allowed."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager

import pytest
from mon_agent import LOOPBACK, exporter_serving
from prometheus_client.parser import text_string_to_metric_families

from hatang.lab.hostile_agent import ROWS, HostileAgent, hostile_agent
from hatang.monitoring.exporter import Exporter
from hatang.monitoring.scrape_policy import ScrapePolicy

TIMEOUT_S = 1.0


def exporter_at(policy: ScrapePolicy = LOOPBACK, *, concurrency: int = 8, retries: int = 1) -> AbstractContextManager[str]:
    """hatang's exporter (v2c, the hostile agents' community) on a thread: a context giving its URL."""
    return exporter_serving(lambda: Exporter({"v2c": HostileAgent("good").auth}, default_auth="v2c", timeout=TIMEOUT_S, retries=retries,
                                             concurrency=concurrency, policy=policy))


@pytest.fixture(scope="module")
def exporter_url() -> Iterator[str]:
    with exporter_at() as url:
        yield url


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(body: str, name: str) -> list:
    return [s for f in text_string_to_metric_families(body) if f.name == name for s in f.samples]


def test_the_good_agent_is_scraped_whole(exporter_url: str) -> None:
    """The control: the same agent code, behaving, gives every row and no error."""
    with hostile_agent("good") as agent:
        status, body = get(f"{exporter_url}/snmp?target={agent.address}&module=system,if_mib")
    assert status == 200, body
    assert len(samples(body, "ifHCInOctets")) == ROWS
    assert [s.value for s in samples(body, "hatang_snmp_scrape_value_errors")] == [0, 0]


def test_a_non_increasing_oid_fails_the_scrape(exporter_url: str) -> None:
    with hostile_agent("non-increasing") as agent:
        status, body = get(f"{exporter_url}/snmp?target={agent.address}&module=if_mib")
    assert status == 500
    assert "OID not increasing" in body and agent.address in body


def test_a_wrongly_typed_value_is_counted_not_dropped(exporter_url: str) -> None:
    with hostile_agent("wrong-type") as agent:
        status, body = get(f"{exporter_url}/snmp?target={agent.address}&module=if_mib")
    assert status == 200, body
    rows = {s.labels["ifIndex"] for s in samples(body, "ifHCInOctets")}
    assert rows == {str(r) for r in range(1, ROWS + 1)} - {"2"}  # the text value is left out…
    assert samples(body, "hatang_snmp_scrape_value_errors")[0].value == 2  # …and counted, with sysUpTime's
    health = get(f"{exporter_url}/metrics")[1]
    assert [s.value for s in samples(health, "hatang_exporter_value_errors") if s.name.endswith("_total") and s.labels["module"] == "if_mib"] == [2]


def test_a_get_answered_with_other_oids_fails(exporter_url: str) -> None:
    with hostile_agent("wrong-oids") as agent:
        status, body = get(f"{exporter_url}/snmp?target={agent.address}&module=system")
    assert status == 500 and "other OIDs than asked" in body


def test_an_endless_table_fails_within_the_deadline(exporter_url: str) -> None:
    with hostile_agent("endless") as agent:
        status, body = get(f"{exporter_url}/snmp?target={agent.address}&module=if_mib", {"X-Prometheus-Scrape-Timeout-Seconds": "3"})
    assert status == 500
    assert "deadline" in body or "never ends its table" in body, body


def test_a_late_answer_within_the_deadline_is_taken(exporter_url: str) -> None:
    """Answers 1.5 timeouts late: the answer to the first transmission comes while the
    retransmission waits, and is taken (pysnmp alone forgot the first message)."""
    with hostile_agent("slow", delay_s=1.5 * TIMEOUT_S) as agent:
        status, body = get(f"{exporter_url}/snmp?target={agent.address}&module=system")
        sent = agent.requests
    assert status == 200, body
    assert samples(body, "sysName")[0].labels["sysName"] == "hostile"
    assert samples(body, "snmp_scrape_packets_sent")[0].value == 2 == sent  # the retransmission is counted


def test_an_agent_that_answered_is_waited_for_until_the_deadline(exporter_url: str) -> None:
    """Its walk's later answers come 3 timeouts late, past the tries' 2 s but within the
    scrape's 9.5 s: an agent that answered is slow, not dead, and every row is taken."""
    with hostile_agent("slowing", delay_s=3 * TIMEOUT_S) as agent:
        status, body = get(f"{exporter_url}/snmp?target={agent.address}&module=if_mib")
    assert status == 200, body
    assert len(samples(body, "ifHCInOctets")) == ROWS


def test_a_silent_agent_fails_with_the_tries_said(exporter_url: str) -> None:
    """Never answered: it fails after its tries (one retry), well before the deadline."""
    with hostile_agent("silent") as agent:
        status, body = get(f"{exporter_url}/snmp?target={agent.address}&module=system")
        assert agent.requests == 2
    assert status == 500 and "no SNMP response within 2s after 2 tries, 1s apart" in body


def test_dead_targets_outnumbering_the_limit_do_not_queue_a_live_one() -> None:
    """Concurrency 2, six dead scrapes started first: each dead request gives its place up
    after one timeout, so the live scrape is answered while every dead one still waits
    for its retry (they end after two timeouts)."""
    with exporter_at(concurrency=2) as url, hostile_agent("silent") as dead, hostile_agent("good") as live:
        finished: list[str] = []
        lock = threading.Lock()

        def scrape(name: str, target: str) -> int:
            status = get(f"{url}/snmp?target={target}&module=system")[0]
            with lock:
                finished.append(name)
            return status

        with ThreadPoolExecutor(8) as pool:
            deads = [pool.submit(scrape, "dead", dead.address) for _ in range(6)]
            while dead.requests < 2:  # both places taken by dead requests
                threading.Event().wait(0.01)
            alive = pool.submit(scrape, "live", live.address)
            assert alive.result() == 200
            assert [d.result() for d in deads] == [500] * 6
    assert finished[0] == "live", finished


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("target=198.51.100.7&module=system", 403, "is not a device of the inventory"),
        ("target=127.0.0.1:0&module=system", 400, "no valid port"),
        ("target=127.0.0.1:70000&module=system", 400, "no valid port"),
        ("target=127.0.0.1:x&module=system", 400, "no valid port"),
        ("target=localhost&module=system", 400, "not an IP address"),
        ("target=127.0.0.1&module=../../../etc/passwd", 400, "unknown module '../../../etc/passwd'"),
        ("target=127.0.0.1&module=system&auth=v2c&auth=v3", 400, "Unknown auth"),
        ("target=127.0.0.1&" + "module=system&" * 40, 400, "query parameters"),
        ("target=127.0.0.1&module=,", 400, "'module' names no module"),
    ],
)
def test_hostile_queries_are_refused(exporter_url: str, query: str, status: int, message: str) -> None:
    got = get(f"{exporter_url}/snmp?{query}")
    assert got[0] == status and message in got[1], got


def test_a_module_path_is_never_opened(exporter_url: str) -> None:
    """Whether a file exists is never told: the same answer for an existing one."""
    existing = get(f"{exporter_url}/snmp?target=127.0.0.1&module=../../../../etc/hostname")
    missing = get(f"{exporter_url}/snmp?target=127.0.0.1&module=../../../../etc/no-such-file")
    assert existing[0] == missing[0] == 400
    assert existing[1].replace("hostname", "X") == missing[1].replace("no-such-file", "X")


def test_only_inventory_devices_by_default() -> None:
    with hostile_agent("good") as agent:
        inventory_only = ScrapePolicy(frozenset(), (), LOOPBACK.modules)
        with exporter_at(inventory_only) as url:
            status, body = get(f"{url}/snmp?target={agent.address}&module=system")
        assert status == 403 and "--allow-target" in body
        assert agent.requests == 0  # the community was never sent


def raw(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        return sock.recv(200)


def test_a_too_long_request_line_gets_414(exporter_url: str) -> None:
    answer = raw(exporter_url, b"GET /snmp?target=" + b"1" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 414 ")


def test_too_many_headers_get_431(exporter_url: str) -> None:
    answer = raw(exporter_url, b"GET /metrics HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_the_inventory_policy_allows_its_routers_on_the_snmp_port_only() -> None:
    from hatang.inventory import load
    from hatang.inventory.export import export
    from hatang.monitoring.scrape_policy import Refused

    inv = load(env="lab")
    router = str(inv.mgmt(inv.routers()[0].name).ip)
    policy = ScrapePolicy.of(inv)
    assert {str(a) for a in policy.addresses} == {t for e in json.loads(export(inv, "prometheus-sd")["targets.json"]) for t in e["targets"]}
    assert policy.target(router) == (router, 161) == policy.target(f"{router}:161")
    for refused in (f"{router}:1161", "198.19.255.254", "127.0.0.1"):
        with pytest.raises(Refused) as raised:
            policy.target(refused)
        assert raised.value.status == 403
    assert ScrapePolicy.of(inv, ["127.0.0.0/8"]).target("127.0.0.1:1161") == ("127.0.0.1", 1161)


def test_a_poll_of_many_dead_targets_gives_each_its_tries() -> None:
    """Eight dead targets, two places, a 1 s deadline per target: the last ones get their
    place after 0.9 s, and still their two tries (their deadline starts with their place)."""
    from hatang.monitoring.poller import poll
    from hatang.monitoring.targets import Target

    with hostile_agent("silent") as dead:
        targets = [Target(f"dead-{n}", "127.0.0.1", dead.auth, port=dead.port) for n in range(8)]
        results = asyncio.run(poll(targets, "system", timeout=0.3, retries=1, concurrency=2, deadline_s=1.0))
    assert [r.ok for r in results] == [False] * 8
    assert all("no SNMP response within 0.6s after 2 tries, 0.3s apart" in r.error for r in results), [r.error for r in results]
