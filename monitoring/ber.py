"""Decode the var-bind list of an SNMP Response-PDU (BER) into plain Python values.

pysnmp decodes every answer through pyasn1, which builds several ASN.1 objects per
var-bind (about 50 µs each, most of the exporter's CPU); this decoder reads the same
bytes in about 1.5 µs per var-bind. It covers what a Response-PDU's var-binds may hold
(RFC 3416, RFC 2578) and refuses anything else, as pysnmp does:

| BER type | Python value |
|---|---|
| INTEGER (Integer32), Counter32, Gauge32, TimeTicks, Counter64 | ``int`` (range-checked) |
| OCTET STRING, IpAddress, Opaque, NULL | ``bytes`` (NULL is ``b""``) |
| OBJECT IDENTIFIER | ``tuple[int, ...]`` |
| noSuchObject, noSuchInstance, endOfMibView | :class:`Missing` |

Everything else (the message, SNMPv3 security, request matching) stays pysnmp's; see
:mod:`hatang.monitoring.rawpdu` for how the raw var-bind list reaches this decoder.

The other way, :func:`encode_request_varbinds` writes a request's var-bind list (OIDs
with NULL values) for the same reason: pyasn1 built and encoded several objects per OID.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

Oid = tuple[int, ...]


@dataclass(frozen=True)
class Missing:
    """An exception value (RFC 3416): the agent has nothing at or after this OID."""

    name: str


NO_SUCH_OBJECT = Missing("noSuchObject")
NO_SUCH_INSTANCE = Missing("noSuchInstance")
END_OF_MIB_VIEW = Missing("endOfMibView")

Value = int | bytes | Oid | Missing
VarBind = tuple[Oid, Value]


class BerError(ValueError):
    """Bytes that are not a well-formed SNMP var-bind list."""


SEQUENCE, INTEGER, OCTET_STRING, NULL, OBJECT_IDENTIFIER = 0x30, 0x02, 0x04, 0x05, 0x06
IP_ADDRESS, COUNTER32, GAUGE32, TIME_TICKS, OPAQUE, COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x44, 0x46
INTEGER_RANGES = {
    INTEGER: (-(2**31), 2**31 - 1),
    COUNTER32: (0, 2**32 - 1),
    GAUGE32: (0, 2**32 - 1),
    TIME_TICKS: (0, 2**32 - 1),
    COUNTER64: (0, 2**64 - 1),
}
BYTES_TYPES = {OCTET_STRING, IP_ADDRESS, OPAQUE}
MISSING = {0x80: NO_SUCH_OBJECT, 0x81: NO_SUCH_INSTANCE, 0x82: END_OF_MIB_VIEW}
OID_MEMORY = 65536  # OIDs remembered by their encoding (a few MiB at most)
_OIDS: dict[bytes, Oid] = {}


def header(data: bytes, at: int, end: int) -> tuple[int, int, int]:
    """The tag at ``at`` and the start and end of its contents (definite lengths only)."""
    if at + 2 > end:
        raise BerError(f"truncated header at byte {at}")
    tag, length = data[at], data[at + 1]
    start = at + 2
    if length & 0x80:
        size = length & 0x7F
        if size == 0 or size > 4 or start + size > end:
            raise BerError(f"unsupported length encoding at byte {at}")
        length = int.from_bytes(data[start:start + size], "big")
        start += size
    if start + length > end:
        raise BerError(f"value at byte {at} runs past its container")
    return tag, start, start + length


def oid(content: bytes) -> Oid:
    """An OBJECT IDENTIFIER's contents as a tuple, remembered: every router answers with
    the same OIDs (the same table rows), so most are decoded once per process."""
    known = _OIDS.get(content)
    if known is not None:
        return known
    decoded = decode_oid(content)
    if len(_OIDS) < OID_MEMORY:  # bounded: an agent sending endless new OIDs only stops the remembering
        _OIDS[content] = decoded
    return decoded


def decode_oid(content: bytes) -> Oid:
    """An OBJECT IDENTIFIER's contents as a tuple (the first arc pair split per X.690)."""
    if not content or content[-1] & 0x80:
        raise BerError("malformed OBJECT IDENTIFIER")
    arcs: list[int] = []
    arc = 0
    for byte in content:
        if arc == 0 and byte == 0x80:
            raise BerError("OBJECT IDENTIFIER arc with a leading 0x80")
        arc = (arc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(arc)
            arc = 0
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return head + tuple(arcs[1:])


def value(tag: int, content: bytes) -> Value:
    if tag in INTEGER_RANGES:
        if not content:
            raise BerError("empty INTEGER")
        number = int.from_bytes(content, "big", signed=True)
        low, high = INTEGER_RANGES[tag]
        if not low <= number <= high:
            raise BerError(f"value {number} out of range for type 0x{tag:02x}")
        return number
    if tag in BYTES_TYPES:
        return content
    if tag == OBJECT_IDENTIFIER:
        return oid(content)
    if tag == NULL or tag in MISSING:
        if content:
            raise BerError(f"type 0x{tag:02x} with contents")
        return b"" if tag == NULL else MISSING[tag]
    raise BerError(f"unexpected type 0x{tag:02x} in a var-bind")


def decode_varbinds(data: bytes) -> list[VarBind]:
    """``SEQUENCE OF SEQUENCE {name OBJECT IDENTIFIER, value}``: the (OID, value) pairs, in order."""
    tag, at, end = header(data, 0, len(data))
    if tag != SEQUENCE or end != len(data):
        raise BerError("not a var-bind list")
    varbinds: list[VarBind] = []
    while at < end:
        tag, start, at = header(data, at, end)
        if tag != SEQUENCE:
            raise BerError("var-bind is not a SEQUENCE")
        name_tag, name_start, name_end = header(data, start, at)
        value_tag, value_start, value_end = header(data, name_end, at)
        if name_tag != OBJECT_IDENTIFIER or value_end != at:
            raise BerError("malformed var-bind")
        varbinds.append((oid(data[name_start:name_end]), value(value_tag, data[value_start:value_end])))
    return varbinds


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    size = (length.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + length.to_bytes(size, "big")


def tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + encode_length(len(content)) + content


@lru_cache(maxsize=OID_MEMORY)
def encode_oid(name: Oid) -> bytes:
    """An OBJECT IDENTIFIER (at least two arcs, the first 0-2, as X.690 requires);
    remembered, as the OIDs asked are the modules' columns and a few rows."""
    if len(name) < 2 or name[0] > 2 or (name[0] < 2 and name[1] >= 40) or min(name) < 0:
        raise BerError(f"not an encodable OBJECT IDENTIFIER: {name}")
    content = bytearray()
    for arc in (name[0] * 40 + name[1], *name[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        content.extend(reversed(chunk))
    return tlv(OBJECT_IDENTIFIER, bytes(content))


def encode_request_varbinds(names: list[Oid]) -> bytes:
    """A request's var-bind list: each OID with a NULL value, as BER."""
    return tlv(SEQUENCE, b"".join(tlv(SEQUENCE, encode_oid(name) + b"\x05\x00") for name in names))
