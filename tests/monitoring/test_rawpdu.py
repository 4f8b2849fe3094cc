"""The raw Response-PDU specification: installed on an engine's v2c and v3 models, once,
keeping every other component, and refusing a pysnmp that no longer works this way."""

from __future__ import annotations

import pytest
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.entity.engine import SnmpEngine
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.proto.api import v2c

from hatang.monitoring import rawpdu
from hatang.monitoring.ber import decode_varbinds


def test_install_sets_both_models_once() -> None:
    engine = SnmpEngine()
    rawpdu.install(engine)
    v2c, v3 = (engine.message_processing_subsystems[i]._snmpMsgSpec for i in (1, 3))
    assert isinstance(v2c, rawpdu.RawV2cMessage) and isinstance(v3, rawpdu.RawV3Message)
    rawpdu.install(engine)  # idempotent: the same objects stay
    assert engine.message_processing_subsystems[1]._snmpMsgSpec is v2c and engine.message_processing_subsystems[3]._snmpMsgSpec is v3


def test_a_pysnmp_without_per_engine_specs_fails_loudly() -> None:
    engine = SnmpEngine()
    del engine.message_processing_subsystems[1]._snmpMsgSpec
    with pytest.raises(RuntimeError, match="^pysnmp's message processing has no per-engine _snmpMsgSpec: update hatang.monitoring.rawpdu$"):
        rawpdu.install(engine)


def test_replaced_swaps_one_component_and_keeps_the_rest() -> None:
    original = rfc1905.ResponsePDU.componentType
    types = rawpdu.replaced(original, "variable-bindings", univ.Any())
    assert [t.name for t in types.namedTypes] == [t.name for t in original.namedTypes]
    assert isinstance(types.getTypeByPosition(3), univ.Any)
    assert [type(types.getTypeByPosition(i)) for i in range(3)] == [type(original.getTypeByPosition(i)) for i in range(3)]


def test_a_response_decodes_with_its_varbinds_raw() -> None:
    """A v2c Response built with pysnmp's own types decodes against the raw spec; the
    var-bind list comes back as BER bytes that hatang's decoder reads."""
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, 7)
    v2c.apiPDU.set_varbinds(pdu, [(rfc1902.ObjectName((1, 3, 6, 1, 2, 1, 1, 3, 0)), rfc1902.TimeTicks(4200))])
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, "public")
    v2c.apiMessage.set_pdu(message, pdu)
    raw, _ = decoder.decode(encoder.encode(message), asn1Spec=rawpdu.RawV2cMessage())
    response = raw["data"]["response"]
    assert int(response["request-id"]) == 7
    assert decode_varbinds(rawpdu.raw_varbinds(response)) == [((1, 3, 6, 1, 2, 1, 1, 3, 0), 4200)]
