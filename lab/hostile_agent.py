"""A misbehaving SNMPv2c agent on loopback: what a broken or hostile device answers,
for the exporter's tests and its reliability run.

It serves the OIDs of hatang's own modules (system, if_mib; ``ROWS`` interfaces) with
pysnmp's encoder, and misbehaves as asked:

| behaviour | what it does |
|---|---|
| ``good`` | answers correctly (the control) |
| ``silent`` | reads every request and never answers (a dead router) |
| ``slow`` | answers correctly, ``delay_s`` late (a loaded router across a slow link) |
| ``slowing`` | answers the first request at once, every later one ``delay_s`` late |
| ``non-increasing`` | from row 3 on, a GETBULK goes back to row 1: the walk would loop |
| ``wrong-type`` | text in a counter column (ifHCInOctets of row 2) and in sysUpTime |
| ``endless`` | every column has rows without end |
| ``wrong-oids`` | a GET is answered with OIDs other than those asked |

Whoever starts it (a test, bench.exporter_hostile) stops it: a thread of that process.
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from hatang.monitoring import modules as mods
from hatang.monitoring.snmp import SnmpAuth

P = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
ROWS = 4
BEHAVIOURS = ("good", "silent", "slow", "slowing", "non-increasing", "wrong-type", "endless", "wrong-oids")
Oid = tuple[int, ...]


def value_for(metric: mods.Metric | mods.Lookup, row: int) -> object:
    if isinstance(metric, mods.Lookup) or metric.type == "DisplayString":
        return P.OctetString(f"if{row}".encode())
    if metric.type == "counter":
        return P.Counter64(1000 * row)
    return P.Gauge32(row)


def mib() -> dict[Oid, object]:
    """The modules' OIDs with plausible values: scalars ``.0``, table columns rows 1..ROWS."""
    data: dict[Oid, object] = {}
    for name in ("system", "if_mib"):
        module = mods.load(name)
        for metric in module.scalars:
            data[metric.oid_tuple + (0,)] = P.OctetString(b"hostile") if metric.type == "DisplayString" else P.TimeTicks(12345)
        for table in module.tables:
            for column in (*table.lookups, *table.columns):
                for row in range(1, ROWS + 1):
                    data[column.oid_tuple + (row,)] = value_for(column, row)
    return data


@dataclass
class HostileAgent:
    behaviour: str
    community: str = "hostile"
    delay_s: float = 0.0
    port: int = 0
    requests: int = 0
    data: dict[Oid, object] = field(default_factory=mib)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def auth(self) -> SnmpAuth:
        return SnmpAuth("v2c", community=self.community)

    def value(self, oid: Oid) -> object:
        if self.behaviour == "wrong-type" and (oid[-1] == 2 and oid[:-1] == (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6) or oid == (1, 3, 6, 1, 2, 1, 1, 3, 0)):
            return P.OctetString(b"not a number")
        return self.data[oid]

    def next_of(self, oid: Oid) -> tuple[Oid, object]:
        """The agent's successor of ``oid``, as this behaviour has it."""
        if self.behaviour == "endless" and len(oid) > 1 and oid[:-1] + (1,) in self.data:
            return oid[:-1] + (oid[-1] + 1,), P.Counter64(oid[-1] + 1)
        following = sorted(o for o in self.data if o > oid)
        if not following:
            return oid, P.EndOfMibView()
        found = following[0]
        if self.behaviour == "non-increasing" and found[-1] >= 3:
            found = found[:-1] + (1,)
        return found, self.value(found)

    def answer(self, request: bytes) -> bytes | None:
        message, _ = decoder.decode(request, asn1Spec=P.Message())
        if bytes(P.apiMessage.get_community(message)) != self.community.encode():
            return None
        pdu = P.apiMessage.get_pdu(message)
        response = P.apiMessage.get_response(message)
        answer_pdu = P.apiMessage.get_pdu(response)
        asked = [tuple(oid) for oid, _ in P.apiPDU.get_varbinds(pdu)]
        if pdu.isSameTypeWith(P.GetRequestPDU()):
            if self.behaviour == "wrong-oids":
                asked = [oid[:-1] + (7,) for oid in asked]
            varbinds = [(oid, self.value(oid) if oid in self.data else P.NoSuchObject()) for oid in asked]
        elif pdu.isSameTypeWith(P.GetBulkRequestPDU()):
            cursors, varbinds = list(asked), []
            for _ in range(P.apiBulkPDU.get_max_repetitions(pdu)):
                row = [self.next_of(oid) for oid in cursors]
                varbinds.extend(row)
                cursors = [oid for oid, _ in row]
        else:
            return None
        P.apiPDU.set_varbinds(answer_pdu, varbinds)
        return encoder.encode(response)


@contextmanager
def hostile_agent(behaviour: str, delay_s: float = 0.0) -> Iterator[HostileAgent]:
    """The agent on 127.0.0.1:<free port>, served by a thread until the context ends."""
    assert behaviour in BEHAVIOURS, behaviour
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    agent = HostileAgent(behaviour, delay_s=delay_s, port=sock.getsockname()[1])
    stop = threading.Event()
    timers: list[threading.Timer] = []

    def send(answer: bytes, peer: tuple[str, int]) -> None:
        try:
            sock.sendto(answer, peer)
        except OSError:
            pass  # the agent closed meanwhile

    def serve() -> None:
        while not stop.is_set():
            if not select.select([sock], [], [], 0.1)[0]:
                continue
            request, peer = sock.recvfrom(65535)
            agent.requests += 1
            if behaviour == "silent":
                continue
            answer = agent.answer(request)
            if answer is None:
                continue
            if delay_s and (behaviour != "slowing" or agent.requests > 1):
                timer = threading.Timer(delay_s, send, (answer, peer))
                timers.append(timer)
                timer.start()
            else:
                send(answer, peer)

    thread = threading.Thread(target=serve, name=f"hostile-agent-{behaviour}", daemon=True)
    thread.start()
    try:
        yield agent
    finally:
        stop.set()
        thread.join(5)
        for timer in timers:
            timer.cancel()
        sock.close()
