"""Let one pysnmp engine hand over Response-PDU var-binds undecoded.

pysnmp's message processing models decode incoming messages against a message
specification each model holds per engine (``_snmpMsgSpec``). :func:`install` gives an
engine's SNMPv2c and SNMPv3 models the same specification with one change: the
Response-PDU's ``variable-bindings`` is an ASN.1 ANY, so pyasn1 keeps its BER bytes
instead of building objects for every var-bind (most of the exporter's CPU), and
:func:`hatang.monitoring.ber.decode_varbinds` reads them. Everything else is still
decoded and checked by pysnmp: the message, SNMPv3 USM (discovery, authentication,
decryption, time window), request-id and message-id matching, reports, retries.

Only for engines hatang owns (the poller's and the exporter's): a pysnmp command
generator on such an engine would get undecoded var-bind lists.

Requests go the same way (:func:`request`): a GET or GETBULK whose var-bind list is an
ANY holding BER that :func:`hatang.monitoring.ber.encode_request_varbinds` wrote, so
pyasn1 neither builds nor encodes an object per OID. pysnmp places the PDU in the
message by its tag without checking its components, and only reads and writes its
request-id.
"""

from __future__ import annotations

from pyasn1.type import namedtype, univ
from pysnmp.entity.engine import SnmpEngine
from pysnmp.proto import rfc1901, rfc1905
from pysnmp.proto.api.v2c import getNextRequestID
from pysnmp.proto.mpmod import rfc3412

from hatang.monitoring.ber import Oid, encode_request_varbinds


def replaced(types: namedtype.NamedTypes, name: str, asn1: object) -> namedtype.NamedTypes:
    """``types`` with the component ``name`` of type ``asn1``."""
    return namedtype.NamedTypes(*(namedtype.NamedType(name, asn1) if t.name == name else t for t in types.namedTypes))


class RawResponsePDU(rfc1905.ResponsePDU):
    componentType = replaced(rfc1905.ResponsePDU.componentType, "variable-bindings", univ.Any())  # noqa: N815


class RawPDUs(rfc1905.PDUs):
    componentType = replaced(rfc1905.PDUs.componentType, "response", RawResponsePDU())  # noqa: N815


class RawV2cMessage(rfc1901.Message):
    componentType = replaced(rfc1901.Message.componentType, "data", RawPDUs())  # noqa: N815


class RawScopedPDU(rfc3412.ScopedPDU):
    componentType = replaced(rfc3412.ScopedPDU.componentType, "data", RawPDUs())  # noqa: N815


class RawScopedPduData(rfc3412.ScopedPduData):
    componentType = replaced(rfc3412.ScopedPduData.componentType, "plaintext", RawScopedPDU())  # noqa: N815


class RawV3Message(rfc3412.SNMPv3Message):
    componentType = replaced(rfc3412.SNMPv3Message.componentType, "msgData", RawScopedPduData())  # noqa: N815


class RequestVarBinds(univ.Any):
    """A request's var-bind list as BER; by default the empty list. pysnmp's SNMPv3
    discovery copies the PDU and empties its var-binds in place (``clear()``): the
    default, which a fresh component is, is already empty."""

    def clear(self) -> RequestVarBinds:
        return self


EMPTY_VARBINDS = RequestVarBinds(b"\x30\x00")


class RawGetRequestPDU(rfc1905.GetRequestPDU):
    componentType = replaced(rfc1905.GetRequestPDU.componentType, "variable-bindings", EMPTY_VARBINDS)  # noqa: N815


class RawGetBulkRequestPDU(rfc1905.GetBulkRequestPDU):
    componentType = replaced(rfc1905.GetBulkRequestPDU.componentType, "variable-bindings", EMPTY_VARBINDS)  # noqa: N815


SPECS = {1: RawV2cMessage, 3: RawV3Message}  # message processing model id -> specification


def install(engine: SnmpEngine) -> None:
    """Make ``engine`` deliver Response-PDUs with raw var-bind lists (idempotent)."""
    for model_id, spec in SPECS.items():
        model = engine.message_processing_subsystems[model_id]
        if not hasattr(model, "_snmpMsgSpec"):  # a pysnmp that no longer works this way must fail loudly
            raise RuntimeError("pysnmp's message processing has no per-engine _snmpMsgSpec: update hatang.monitoring.rawpdu")
        if not isinstance(model._snmpMsgSpec, spec):
            model._snmpMsgSpec = spec()


def raw_varbinds(pdu: RawResponsePDU) -> bytes:
    """The BER bytes of a raw Response-PDU's var-bind list."""
    return bytes(pdu["variable-bindings"])


def request(names: list[Oid], max_repetitions: int | None = None) -> RawGetRequestPDU | RawGetBulkRequestPDU:
    """A GET of ``names``, or a GETBULK (non-repeaters 0) with ``max_repetitions``."""
    pdu = RawGetRequestPDU() if max_repetitions is None else RawGetBulkRequestPDU()
    pdu.setComponentByPosition(0, getNextRequestID())
    pdu.setComponentByPosition(1, 0)
    pdu.setComponentByPosition(2, max_repetitions or 0)
    pdu.setComponentByPosition(3, RequestVarBinds(encode_request_varbinds(names)))
    return pdu
