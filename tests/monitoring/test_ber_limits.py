"""The BER code's edges the byte-by-byte tests leave open: the exception values' names
(what the exporter reports), the lower limit of every unsigned type and the upper one of
TimeTicks, a long-form length that ends exactly at its container, the OID refusals to the
letter, the OIDs remembered up to their bound; and the request side: lengths, OIDs and a
request's var-bind list encoded as X.690 says, decoding back to what was asked, in the
GET and GETBULK PDUs of rawpdu."""

from __future__ import annotations

import dataclasses

import pytest

from hatang.monitoring import ber, rawpdu
from hatang.monitoring.ber import (END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT, BerError, decode_oid, decode_varbinds, encode_length, encode_oid,
                                   encode_request_varbinds, header, oid, tlv, value)


def test_the_exception_values_are_named_and_immutable() -> None:
    assert [value(tag, b"").name for tag in (0x80, 0x81, 0x82)] == ["noSuchObject", "noSuchInstance", "endOfMibView"]
    assert [m.name for m in (NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW)] == ["noSuchObject", "noSuchInstance", "endOfMibView"]
    assert len({NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW}) == 3  # hashable, distinct
    with pytest.raises(dataclasses.FrozenInstanceError):
        NO_SUCH_OBJECT.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize("tag", [0x41, 0x42, 0x43, 0x46])
def test_every_unsigned_type_starts_at_zero(tag: int) -> None:
    assert value(tag, b"\x00") == 0
    with pytest.raises(BerError, match=f"^value -1 out of range for type 0x{tag:02x}$"):
        value(tag, b"\xff")


def test_time_ticks_end_at_two_to_the_32() -> None:
    assert value(0x43, b"\x00\xff\xff\xff\xff") == 2**32 - 1
    with pytest.raises(BerError, match="^value 4294967296 out of range for type 0x43$"):
        value(0x43, b"\x01\x00\x00\x00\x00")


def test_a_long_form_length_may_end_at_its_container() -> None:
    assert header(bytes([0x04, 0x81, 0x00]), 0, 3) == (0x04, 3, 3)  # length 0, written in the long form


@pytest.mark.parametrize(("content", "message"), [
    (b"", "malformed OBJECT IDENTIFIER"),
    (b"\x2b\x86", "malformed OBJECT IDENTIFIER"),
    (b"\x2b\x80\x01", "OBJECT IDENTIFIER arc with a leading 0x80"),
])
def test_oid_refusals_are_worded(content: bytes, message: str) -> None:
    with pytest.raises(BerError) as refused:
        decode_oid(content)
    assert str(refused.value) == message


SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)


@pytest.mark.parametrize(("length", "encoded"), [
    (0, b"\x00"), (0x7F, b"\x7f"), (0x80, b"\x81\x80"), (0xFF, b"\x81\xff"), (0x100, b"\x82\x01\x00"), (0x10000, b"\x83\x01\x00\x00")])
def test_lengths_short_and_long(length: int, encoded: bytes) -> None:
    assert encode_length(length) == encoded
    assert tlv(0x04, b"x" * length) == b"\x04" + encoded + b"x" * length


def test_an_oid_encodes_as_x690_says() -> None:
    assert encode_oid(SYS_UPTIME) == bytes([0x06, 0x08, 0x2B, 0x06, 0x01, 0x02, 0x01, 0x01, 0x03, 0x00])
    assert encode_oid((1, 3)) == b"\x06\x01\x2b"  # two arcs are enough
    assert encode_oid((2, 999, 128)) == b"\x06\x04\x88\x37\x81\x00"  # 2·40 + 999 = 1079 = 8·128 + 55; 128 = 1·128 + 0
    for name in ((1,), (3, 1), (1, 40), (0, 40), (1, 3, -1)):
        with pytest.raises(BerError) as refused:
            encode_oid(name)
        assert str(refused.value) == f"not an encodable OBJECT IDENTIFIER: {name}"


def test_a_request_decodes_back_to_its_oids_with_null_values() -> None:
    names = [SYS_UPTIME, (1, 3, 6, 1, 2, 1, 1, 5, 0), (2, 999, 128)]
    assert decode_varbinds(encode_request_varbinds(names)) == [(name, b"") for name in names]
    long = [(1, 3, 6, 1, 4, 1, 99999, i) for i in range(40)]  # over 127 bytes: long-form lengths
    assert decode_varbinds(encode_request_varbinds(long)) == [(name, b"") for name in long]


def test_oids_are_remembered_up_to_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    first = oid(b"\x2b\x06\x01\x04\x01\x87\x67")
    assert oid(b"\x2b\x06\x01\x04\x01\x87\x67") is first  # decoded once, then remembered
    full = {bytes([0x2B]) + i.to_bytes(4, "big"): (1, 3) for i in range(ber.OID_MEMORY)}
    monkeypatch.setattr(ber, "_OIDS", full)
    assert oid(b"\x2b\x07") == (1, 3, 7) and b"\x2b\x07" not in full  # at the bound: decoded, not remembered
    del full[next(iter(full))]
    oid(b"\x2b\x07")
    assert full[b"\x2b\x07"] == (1, 3, 7)


def test_requests_carry_their_var_binds_as_ber() -> None:
    get = rawpdu.request([SYS_UPTIME])
    assert [int(get.getComponentByPosition(i)) for i in (1, 2)] == [0, 0]  # error-status, error-index
    assert decode_varbinds(bytes(get.getComponentByPosition(3))) == [(SYS_UPTIME, b"")]
    bulk = rawpdu.request([SYS_UPTIME], max_repetitions=25)
    assert [int(bulk.getComponentByPosition(i)) for i in (1, 2)] == [0, 25]  # non-repeaters, max-repetitions
    assert bytes(rawpdu.EMPTY_VARBINDS) == b"\x30\x00" and decode_varbinds(bytes(rawpdu.EMPTY_VARBINDS)) == []
    assert rawpdu.EMPTY_VARBINDS.clear() is rawpdu.EMPTY_VARBINDS  # SNMPv3 discovery empties a copy in place
