"""The var-bind decoder on hand-built BER, byte by byte: each type, each limit, each refusal."""

from __future__ import annotations

import pytest

from hatang.monitoring.ber import END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT, BerError, decode_varbinds, header, oid, value

SYS_UPTIME = bytes([0x06, 0x08, 0x2B, 0x06, 0x01, 0x02, 0x01, 0x01, 0x03, 0x00])  # 1.3.6.1.2.1.1.3.0


def tlv(tag: int, content: bytes) -> bytes:
    """Tag, length (short form, or 0x81/0x82 long forms), contents."""
    n = len(content)
    length = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82]) + n.to_bytes(2, "big")
    return bytes([tag]) + length + content


def varbinds(*values: bytes, name: bytes = SYS_UPTIME) -> bytes:
    return tlv(0x30, b"".join(tlv(0x30, name + v) for v in values))


def test_each_type_decodes_to_its_python_value() -> None:
    oid_ = (1, 3, 6, 1, 2, 1, 1, 3, 0)
    data = varbinds(
        tlv(0x02, b"\xff"), tlv(0x41, b"\x00\xff\xff\xff\xff"), tlv(0x42, b"\x05"), tlv(0x43, b"\x01\x00"), tlv(0x46, b"\x00" + b"\xff" * 8),
        tlv(0x04, b"eth0"), tlv(0x40, bytes([198, 18, 0, 1])), tlv(0x44, b"\x01"), tlv(0x05, b""), tlv(0x06, b"\x2b\x06"),
        tlv(0x80, b""), tlv(0x81, b""), tlv(0x82, b""),
    )
    assert [v for _, v in decode_varbinds(data)] == [
        -1, 2**32 - 1, 5, 256, 2**64 - 1, b"eth0", bytes([198, 18, 0, 1]), b"\x01", b"", (1, 3, 6), NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW]
    assert {name for name, _ in decode_varbinds(data)} == {oid_}


@pytest.mark.parametrize(
    ("tag", "content", "number"),
    [(0x02, b"\x7f\xff\xff\xff", 2**31 - 1), (0x02, b"\x80\x00\x00\x00", -(2**31)), (0x41, b"\x00", 0), (0x42, b"\x00\xff\xff\xff\xff", 2**32 - 1),
     (0x43, b"\x00\xff\xff\xff\xff", 2**32 - 1), (0x46, b"\x00" + b"\xff" * 8, 2**64 - 1)],
)
def test_integers_at_their_limits(tag: int, content: bytes, number: int) -> None:
    assert value(tag, content) == number


@pytest.mark.parametrize(
    ("tag", "content", "message"),
    [(0x02, b"\x00\x80\x00\x00\x00", "value 2147483648 out of range for type 0x02"), (0x02, b"\xff\x7f\xff\xff\xff", "value -2147483649 out of range for type 0x02"),
     (0x41, b"\xff", "value -1 out of range for type 0x41"), (0x42, b"\x01\x00\x00\x00\x00", "value 4294967296 out of range for type 0x42"),
     (0x46, b"\x01" + b"\x00" * 8, "value 18446744073709551616 out of range for type 0x46"), (0x02, b"", "empty INTEGER"),
     (0x05, b"\x00", "type 0x05 with contents"), (0x80, b"\x00", "type 0x80 with contents"), (0xA2, b"", "unexpected type 0xa2 in a var-bind")],
)
def test_values_refused(tag: int, content: bytes, message: str) -> None:
    with pytest.raises(BerError, match=f"^{message}$"):
        value(tag, content)


def test_oid_first_arcs_split_per_x690() -> None:
    assert oid(b"\x27\x05") == (0, 39, 5)  # 39 < 40: first arc 0
    assert oid(b"\x28") == (1, 0)  # 40: first arc 1
    assert oid(b"\x4f") == (1, 39)
    assert oid(b"\x50") == (2, 0)  # 80: first arc 2
    assert oid(b"\x81\x00") == (2, 48)  # 128 − 80, a multi-byte first arc
    assert oid(b"\x2b\x86\x8d\x1f") == (1, 3, 99999)  # 99999 = 6·16384 + 13·128 + 31
    for bad, message in ((b"", "malformed OBJECT IDENTIFIER"), (b"\x2b\x86", "malformed OBJECT IDENTIFIER"), (b"\x2b\x80\x01", "OBJECT IDENTIFIER arc with a leading 0x80")):
        with pytest.raises(BerError, match=message):
            oid(bad)


def test_length_forms() -> None:
    long = bytes([0x04, 0x81, 0x03]) + b"abc"
    assert header(long, 0, len(long)) == (0x04, 3, 6)
    four = bytes([0x04, 0x84, 0, 0, 0, 1]) + b"x"
    assert header(four, 0, len(four)) == (0x04, 6, 7)
    for data, message in (
        (bytes([0x04, 0x80]), "unsupported length encoding at byte 0"),
        (bytes([0x04, 0x85, 0, 0, 0, 0, 1]) + b"x", "unsupported length encoding at byte 0"),
        (bytes([0x04, 0x82, 0]), "unsupported length encoding at byte 0"),
        (bytes([0x04]), "truncated header at byte 0"),
        (bytes([0x04, 0x02, 0x41]), "value at byte 0 runs past its container"),
    ):
        with pytest.raises(BerError, match=f"^{message}$"):
            header(data, 0, len(data))
    # an exact fit is not past its container
    assert header(bytes([0x04, 0x01, 0x41]), 0, 3) == (0x04, 2, 3)


def test_malformed_lists() -> None:
    good = varbinds(tlv(0x02, b"\x01"))
    assert decode_varbinds(good) == [((1, 3, 6, 1, 2, 1, 1, 3, 0), 1)]
    cases = [
        (good + b"\x00", "not a var-bind list"),
        (tlv(0x31, good[2:]), "not a var-bind list"),
        (tlv(0x30, tlv(0x31, SYS_UPTIME + tlv(0x02, b"\x01"))), "var-bind is not a SEQUENCE"),
        (tlv(0x30, tlv(0x30, tlv(0x04, b"x") + tlv(0x02, b"\x01"))), "malformed var-bind"),
        (tlv(0x30, tlv(0x30, SYS_UPTIME + tlv(0x02, b"\x01") + b"\x05\x00")), "malformed var-bind"),
    ]
    for data, message in cases:
        with pytest.raises(BerError, match=f"^{message}$"):
            decode_varbinds(data)
    assert decode_varbinds(tlv(0x30, b"")) == []
