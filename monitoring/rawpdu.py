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
"""

from __future__ import annotations

from pyasn1.type import namedtype, univ
from pysnmp.entity.engine import SnmpEngine
from pysnmp.proto import rfc1901, rfc1905
from pysnmp.proto.mpmod import rfc3412


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
