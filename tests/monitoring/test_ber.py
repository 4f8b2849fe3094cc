"""hatang's var-bind decoder against pyasn1/pysnmp (the decoder it replaces on the hot
path): answers captured from real snmpd, answers of the running agent, and any var-bind
list pyasn1 can encode (hypothesis)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mon_agent import Agent
from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ
from pysnmp.entity.engine import SnmpEngine
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.proto.api import v2c

from hatang.monitoring import ber, snmp
from hatang.monitoring.ber import END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT, BerError, decode_varbinds
from hatang.monitoring.poller import poll_target
from hatang.monitoring import modules as mods
from hatang.monitoring.targets import Target

MISSING = {rfc1905.NoSuchObject: NO_SUCH_OBJECT, rfc1905.NoSuchInstance: NO_SUCH_INSTANCE, rfc1905.EndOfMibView: END_OF_MIB_VIEW}


def plain(value: Any) -> ber.Value:
    """A pysnmp value in the decoder's representation."""
    for kind, missing in MISSING.items():
        if isinstance(value, kind):
            return missing
    if isinstance(value, univ.ObjectIdentifier):
        return tuple(value)
    if isinstance(value, univ.OctetString):  # also IpAddress, Opaque and Null
        return bytes(value)
    return int(value)


def pysnmp_decode(data: bytes) -> list[ber.VarBind]:
    varbinds, rest = decoder.decode(data, asn1Spec=rfc1905.VarBindList())
    assert rest == b""
    return [(tuple(name), plain(value)) for name, value in (v2c.apiVarBind.get_oid_value(vb) for vb in varbinds)]


def pysnmp_encode(varbinds: list[tuple[tuple[int, ...], Any]]) -> bytes:
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_varbinds(pdu, [(rfc1902.ObjectName(name), value) for name, value in varbinds])
    return encoder.encode(pdu["variable-bindings"])


# Var-bind lists of real snmpd (net-snmp 5.9) answers, SNMPv3 authPriv, after decryption.
CAPTURED = {
    # GET sysObjectID.0, sysUpTime.0, an absent object, an absent instance
    "3043301606082b06010201010200060a2b06010401bf0803020a300d06082b06010201010300430143300c06082b060102010163008000300c06082b060102010103018100": [
        ((1, 3, 6, 1, 2, 1, 1, 2, 0), (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)),
        ((1, 3, 6, 1, 2, 1, 1, 3, 0), 67),
        ((1, 3, 6, 1, 2, 1, 1, 99, 0), NO_SUCH_OBJECT),
        ((1, 3, 6, 1, 2, 1, 1, 3, 1), NO_SUCH_INSTANCE),
    ],
    # GETBULK ifSpeed (Gauge32), ifInOctets (Counter32), ifHCInOctets (Counter64), ifAdminStatus, ipAdEntAddr (IpAddress)
    "30653012060a2b0601020102020105014204009896803012060a2b060102010202010a014104143a63613013060b2b060102011f01010106014604143a6361300f060a2b0601020102020107010201013015060d2b06010201041401017f00000140047f000001": [
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 5, 1), 10000000),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1), 339370849),
        ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1), 339370849),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 7, 1), 1),
        ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 127, 0, 0, 1), b"\x7f\x00\x00\x01"),
    ],
    # GETBULK of two columns, two repetitions: strings and integers interleaved
    "3068301806132b06010603100105020106055f616c6c5f0100020101301d06082b060102010105000411686174616e672d746573742d6167656e74301806132b06010603100105020106055f616c6c5f0101020101301306082b060102010106000407556e6b6e6f776e": [
        ((1, 3, 6, 1, 6, 3, 16, 1, 5, 2, 1, 6, 5, 95, 97, 108, 108, 95, 1, 0), 1),
        ((1, 3, 6, 1, 2, 1, 1, 5, 0), b"hatang-test-agent"),
        ((1, 3, 6, 1, 6, 3, 16, 1, 5, 2, 1, 6, 5, 95, 97, 108, 108, 95, 1, 1), 1),
        ((1, 3, 6, 1, 2, 1, 1, 6, 0), b"Unknown"),
    ],
    # GETBULK past the end of the agent's view (OID 2.999: a two-byte first arc)
    "30083006060288378200": [((2, 999), END_OF_MIB_VIEW)],
}


@pytest.mark.parametrize("hex_bytes", list(CAPTURED))
def test_captured_snmpd_answers(hex_bytes: str) -> None:
    data = bytes.fromhex(hex_bytes)
    assert decode_varbinds(data) == CAPTURED[hex_bytes]
    assert decode_varbinds(data) == pysnmp_decode(data)


def oids() -> st.SearchStrategy[tuple[int, ...]]:
    first = st.integers(0, 2)
    return first.flatmap(
        lambda arc: st.tuples(st.just(arc), st.integers(0, 39 if arc < 2 else 2**32 - 1), st.lists(st.integers(0, 2**32 - 1), max_size=12))
    ).map(lambda t: (t[0], t[1], *t[2]))


VALUES: list[tuple[st.SearchStrategy[Any], Any, Any]] = [  # (strategy, pysnmp type, expected from the drawn value)
    (st.integers(-(2**31), 2**31 - 1), rfc1902.Integer32, int),
    (st.integers(0, 2**32 - 1), rfc1902.Counter32, int),
    (st.integers(0, 2**32 - 1), rfc1902.Gauge32, int),
    (st.integers(0, 2**32 - 1), rfc1902.TimeTicks, int),
    (st.integers(0, 2**64 - 1), rfc1902.Counter64, int),
    (st.binary(max_size=300), rfc1902.OctetString, bytes),
    (st.binary(min_size=4, max_size=4), rfc1902.IpAddress, bytes),
    (st.binary(max_size=40), rfc1902.Opaque, bytes),
    (oids(), rfc1902.ObjectIdentifier, tuple),
    (st.just(b""), rfc1902.Null, bytes),
    (st.just(None), lambda _: rfc1905.noSuchObject, lambda _: NO_SUCH_OBJECT),
    (st.just(None), lambda _: rfc1905.noSuchInstance, lambda _: NO_SUCH_INSTANCE),
    (st.just(None), lambda _: rfc1905.endOfMibView, lambda _: END_OF_MIB_VIEW),
]
varbind = st.one_of(*(st.tuples(oids(), drawn.map(lambda v, make=make, want=want: (make(v), want(v)))) for drawn, make, want in VALUES))


@given(st.lists(varbind, max_size=60))
def test_round_trip_through_pysnmps_encoder(varbinds: list) -> None:
    data = pysnmp_encode([(name, made) for name, (made, _) in varbinds])
    expected = [(name, want) for name, (_, want) in varbinds]
    assert decode_varbinds(data) == expected
    assert pysnmp_decode(data) == expected


@given(st.lists(varbind, min_size=1, max_size=5), st.data())
def test_truncated_answers_are_refused(varbinds: list, data: st.DataObject) -> None:
    encoded = pysnmp_encode([(name, made) for name, (made, _) in varbinds])
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(BerError):
        decode_varbinds(encoded[:cut])


@pytest.mark.parametrize(
    "hex_bytes",
    [
        "30093007060229004101ff",  # Counter32 with a negative value
        "300d300b0602290041050100000000",  # Counter32 above 2^32 - 1
        "3008300606022900a300",  # a type no var-bind may hold
        "3009300706032980010500",  # an OID arc with a leading 0x80
        "30093007060229000501" "00",  # NULL with contents
        "300730050201010500",  # a var-bind name that is not an OID
        "3080300606022900050000",  # indefinite length
    ],
)
def test_malformed_answers_are_refused_like_pysnmp(hex_bytes: str) -> None:
    data = bytes.fromhex(hex_bytes)
    with pytest.raises(BerError):
        decode_varbinds(data)
    with pytest.raises((PyAsn1Error, AssertionError)):
        pysnmp_decode(data)


@pytest.mark.parametrize("version", ["v2c", "v3"])
def test_live_answers_decode_as_pysnmp_decodes_them(agent: Agent, version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every answer of a full poll of the running agent, decoded both ways."""
    answers: list[bytes] = []

    def recording(data: bytes) -> list[ber.VarBind]:
        answers.append(data)
        return decode_varbinds(data)

    monkeypatch.setattr(snmp, "decode_varbinds", recording)

    async def poll_all() -> None:
        engine = SnmpEngine()
        target = Target("agent", "127.0.0.1", getattr(agent, version), port=agent.port)
        for module in ("system", "if_mib", "host"):
            assert (await poll_target(engine, target, mods.load(module), timeout=2, retries=1)).ok
        engine.close_dispatcher()

    asyncio.run(poll_all())
    assert len(answers) >= 3
    for data in answers:
        assert decode_varbinds(data) == pysnmp_decode(data)


@given(st.lists(oids(), max_size=60))
def test_request_varbinds_encode_as_pysnmp_encodes_them(names: list) -> None:
    """The request side: OIDs with NULL values, byte for byte what pysnmp would send."""
    assert ber.encode_request_varbinds(names) == pysnmp_encode([(name, rfc1902.Null("")) for name in names])


def test_a_raw_request_is_the_pdu_pysnmp_would_build() -> None:
    from hatang.monitoring import rawpdu

    names = [(1, 3, 6, 1, 2, 1, 2, 2, 1, 2), (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)]
    ours = rawpdu.request(names, 25)
    theirs = v2c.GetBulkRequestPDU()
    v2c.apiBulkPDU.set_defaults(theirs)
    v2c.apiBulkPDU.set_request_id(theirs, int(ours[0]))
    v2c.apiBulkPDU.set_max_repetitions(theirs, 25)
    v2c.apiBulkPDU.set_varbinds(theirs, [(rfc1902.ObjectName(n), rfc1902.Null("")) for n in names])
    assert encoder.encode(ours) == encoder.encode(theirs)
