"""The lab's IIC time servers without a lab: which addresses it serves, to whom, and how
``up`` knows a server answers (an NTP reply read from a socket)."""

from __future__ import annotations

import socket
import threading
from ipaddress import ip_address, ip_network

import pytest

from hatang.errors import HatangError
from hatang.inventory import load
from hatang.lab import timeserver

LAB_RANGE = ip_network("198.18.0.0/15")


@pytest.fixture(scope="module")
def inv():
    return load(None, "lab")


def test_the_lab_serves_the_inventorys_time_servers_it_does_not_run(inv):
    served = timeserver.served(inv, [])
    assert [h.name for h in served] == list(inv.datacenter.ntp_servers)
    assert all(h.address.ip in LAB_RANGE for h in served)
    assert [h.name for h in timeserver.served(inv, served[:1])] == [h.name for h in served[1:]]


def test_a_time_server_the_inventory_lacks_is_named(monkeypatch):
    inv = load(None, "lab")
    monkeypatch.setattr(inv, "datacenter", inv.datacenter.model_copy(update={"ntp_servers": ("ntp-99",)}))
    with pytest.raises(HatangError, match="datacenter.yaml: NTP server 'ntp-99'"):
        timeserver.served(inv, [])


def test_the_time_server_answers_the_data_center_and_management_only(inv):
    clients = timeserver.allowed(inv)
    assert all(ip_network(p).subnet_of(LAB_RANGE) for p in clients)
    assert str(inv.mgmt_network()) in clients
    assert all(any(h.address.ip in ip_network(p) for p in clients) for h in inv.linux_hosts())
    conf = timeserver.chrony_conf(clients)
    assert f"local stratum {timeserver.LOCAL_STRATUM}" in conf.splitlines()
    assert not any(line.startswith(("server", "pool")) for line in conf.splitlines())
    assert timeserver.files(inv)["etc/default/chrony"][0].strip() == 'DAEMON_OPTS="-x"'


def _responder(first_byte: int, stratum: int) -> tuple[socket.socket, threading.Thread]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)

    def serve() -> None:
        try:
            request, peer = sock.recvfrom(512)
            sock.sendto(bytes([first_byte, stratum]) + bytes(46), peer)
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return sock, thread


@pytest.mark.parametrize(("first_byte", "stratum", "serving"), [
    (0x24, 11, True),  # LI 0, version 4, mode 4 (server), stratum 11
    (0xE4, 0, False),  # LI 3: the server is not synchronised itself
    (0x24, 16, False),  # stratum 16: unsynchronised
    (0x23, 11, False),  # mode 3: a client's packet, not a server's reply
])
def test_up_waits_for_a_synchronised_server_reply(first_byte, stratum, serving):
    sock, thread = _responder(first_byte, stratum)
    try:
        assert timeserver.answers(ip_address("127.0.0.1"), timeout_s=2, port=sock.getsockname()[1]) is serving
    finally:
        thread.join(3)
        sock.close()


def test_silence_is_not_an_answer():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never answers
        assert not timeserver.answers(ip_address("127.0.0.1"), timeout_s=0.3, port=sock.getsockname()[1])
