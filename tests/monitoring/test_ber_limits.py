"""The var-bind decoder's edges the byte-by-byte tests leave open: the exception values'
names (what the exporter reports), the lower limit of every unsigned type and the upper
one of TimeTicks, a long-form length that ends exactly at its container, and the OID
refusals to the letter."""

from __future__ import annotations

import dataclasses

import pytest

from hatang.monitoring.ber import END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT, BerError, decode_oid, header, value


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
